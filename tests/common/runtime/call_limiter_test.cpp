#include "common/runtime/call_limiter.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <utility>
#include <vector>

namespace dbproxy {
namespace {

TEST(CallLimiterTest, RefusesOverEachCapAndGivesPlacesBack) {
  CallLimiter limiter(/*per_workspace=*/2, /*total=*/3);
  CallLimiter::Refusal refusal{};
  std::vector<CallLimiter::Permit> held;
  for (int i = 0; i < 2; ++i) {
    std::optional<CallLimiter::Permit> permit = limiter.TryAcquire("prod", &refusal);
    ASSERT_TRUE(permit);
    held.push_back(std::move(*permit));
  }
  EXPECT_FALSE(limiter.TryAcquire("prod", &refusal));
  EXPECT_EQ(refusal, CallLimiter::Refusal::kPerWorkspace);
  std::optional<CallLimiter::Permit> dev = limiter.TryAcquire("dev", &refusal);
  ASSERT_TRUE(dev);
  EXPECT_FALSE(limiter.TryAcquire("staging", &refusal));
  EXPECT_EQ(refusal, CallLimiter::Refusal::kTotal);
  EXPECT_EQ(limiter.InFlight("prod"), 2u);
  EXPECT_EQ(limiter.InFlight(), 3u);

  held.pop_back();  // a prod call ends
  EXPECT_EQ(limiter.InFlight("prod"), 1u);
  EXPECT_TRUE(limiter.TryAcquire("prod", &refusal));  // taken and given back at once
  dev.reset();
  held.clear();
  EXPECT_EQ(limiter.InFlight(), 0u);
  EXPECT_EQ(limiter.InFlight("dev"), 0u);
}

TEST(CallLimiterTest, ZeroMeansNoCapAndAMovedPermitCountsOnce) {
  CallLimiter limiter(0, 0);
  std::vector<CallLimiter::Permit> held;
  for (int i = 0; i < 1000; ++i) held.push_back(*limiter.TryAcquire("prod", nullptr));
  EXPECT_EQ(limiter.InFlight("prod"), 1000u);
  std::vector<CallLimiter::Permit> moved = std::move(held);
  EXPECT_EQ(limiter.InFlight(), 1000u);
  moved.clear();
  EXPECT_EQ(limiter.InFlight(), 0u);
}

}  // namespace
}  // namespace dbproxy
