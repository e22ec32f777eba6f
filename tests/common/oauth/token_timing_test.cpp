#include "common/oauth/token_timing.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>

namespace dbproxy {
namespace {

constexpr std::int64_t kNow = 1'795'917'197;  // 2026-11-29T01:53:17Z

struct RefreshCase {
  const char* label;
  std::int64_t lifetime;
  int refresh_ahead;
  std::int64_t refresh_after_fetch;  // RefreshAt - fetched_at
};

void PrintTo(const RefreshCase& c, std::ostream* os) {
  *os << c.label;
}

class TokenTimingRefreshTest : public ::testing::TestWithParam<RefreshCase> {};

TEST_P(TokenTimingRefreshTest, RefreshesAheadButNotBeforeHalfLife) {
  const RefreshCase& c = GetParam();
  EXPECT_EQ(RefreshAt(kNow, kNow + c.lifetime, c.refresh_ahead) - kNow, c.refresh_after_fetch);
}

INSTANTIATE_TEST_SUITE_P(
    Lifetimes, TokenTimingRefreshTest,
    ::testing::Values(RefreshCase{"one hour, 5 minutes ahead", 3600, 300, 3300},
                      RefreshCase{"one day", 86400, 300, 86100},
                      RefreshCase{"ahead equals half", 600, 300, 300},
                      RefreshCase{"short lifetime: half-way", 120, 300, 60},
                      RefreshCase{"one minute", 60, 300, 30},
                      RefreshCase{"odd lifetime rounds towards expiry", 61, 300, 31},
                      RefreshCase{"one second", 1, 300, 1},
                      RefreshCase{"ahead zero refreshes at expiry", 3600, 0, 3600},
                      RefreshCase{"ahead zero, short lifetime", 10, 0, 10},
                      RefreshCase{"already expired at fetch", 0, 300, 0},
                      RefreshCase{"expiry before fetch: at expiry", -100, 300, -100},
                      RefreshCase{"large ahead cap", 3600, 3000, 1800}));

TEST(TokenTimingTest, RefreshNeverAfterExpiryNorBeforeHalfLife) {
  for (std::int64_t lifetime : {2, 59, 60, 61, 599, 600, 601, 3599, 3600, 86400}) {
    for (int ahead : {0, 1, 30, 300, 3000}) {
      const std::int64_t at = RefreshAt(kNow, kNow + lifetime, ahead);
      EXPECT_LE(at, kNow + lifetime) << lifetime << " " << ahead;
      EXPECT_GE(at, kNow + lifetime / 2) << lifetime << " " << ahead;
      EXPECT_GE(at, kNow + lifetime - ahead) << lifetime << " " << ahead;
    }
  }
}

struct BackoffCase {
  int failures;
  std::int64_t ceiling_ms;  // d in [d/2, d]
};

void PrintTo(const BackoffCase& c, std::ostream* os) {
  *os << c.failures << " failures";
}

class TokenTimingBackoffTest : public ::testing::TestWithParam<BackoffCase> {};

TEST_P(TokenTimingBackoffTest, EqualJitterBounds) {
  const BackoffCase& c = GetParam();
  EXPECT_EQ(BackoffMs(c.failures, 0.0, 0), c.ceiling_ms / 2);
  EXPECT_EQ(BackoffMs(c.failures, 0.5, 0), c.ceiling_ms * 3 / 4);
  const std::int64_t high = BackoffMs(c.failures, 0.999999, 0);
  EXPECT_LE(high, c.ceiling_ms);
  EXPECT_GE(high, c.ceiling_ms - 1);
}

INSTANTIATE_TEST_SUITE_P(Growth, TokenTimingBackoffTest,
                         ::testing::Values(BackoffCase{1, 500}, BackoffCase{2, 1000},
                                           BackoffCase{3, 2000}, BackoffCase{4, 4000},
                                           BackoffCase{5, 8000}, BackoffCase{6, 16000},
                                           BackoffCase{7, 32000}, BackoffCase{8, 60000},
                                           BackoffCase{9, 60000}, BackoffCase{21, 60000},
                                           BackoffCase{22, 60000}, BackoffCase{64, 60000},
                                           BackoffCase{1000000, 60000}));

TEST(TokenTimingTest, BackoffNeverShrinksAsFailuresGrow) {
  std::int64_t previous = 0;
  for (int failures = 1; failures <= 40; ++failures) {
    const std::int64_t delay = BackoffMs(failures, 0.0, 0);
    EXPECT_GE(delay, previous) << failures;
    EXPECT_LE(delay, kBackoffCapMs) << failures;
    previous = delay;
  }
}

TEST(TokenTimingTest, BackoffClampsOutOfRangeInputs) {
  EXPECT_EQ(BackoffMs(0, 0.0, 0), kBackoffBaseMs / 2);
  EXPECT_EQ(BackoffMs(-5, 0.0, 0), kBackoffBaseMs / 2);
  EXPECT_EQ(BackoffMs(1, 1.0, 0), kBackoffBaseMs);
  EXPECT_EQ(BackoffMs(1, 7.0, 0), kBackoffBaseMs);
  EXPECT_EQ(BackoffMs(1, -3.0, 0), kBackoffBaseMs / 2);
}

TEST(TokenTimingTest, RetryAfterIsAFloor) {
  EXPECT_EQ(BackoffMs(1, 0.0, 5), 5000);
  EXPECT_EQ(BackoffMs(1, 0.999, 1), 1000);
  EXPECT_EQ(BackoffMs(8, 0.0, 10), 30000);        // backoff already longer
  EXPECT_EQ(BackoffMs(8, 0.0, 3600), 3'600'000);  // the server's wish beats the cap
  EXPECT_EQ(BackoffMs(3, 0.0, 0), 1000);          // 0 means no Retry-After
}

}  // namespace
}  // namespace dbproxy
