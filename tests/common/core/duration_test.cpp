#include "common/core/duration.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>

namespace dbproxy {
namespace {

struct ParseCase {
  std::string text;
  std::int64_t seconds;  // 0: must be refused
  std::string why = "";  // substring of the error message when refused
};

void PrintTo(const ParseCase& c, std::ostream* os) { *os << "'" << c.text << "'"; }

class DurationParseTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(DurationParseTest, ParsesOrRefuses) {
  const ParseCase& c = GetParam();
  const Result<std::int64_t> parsed = ParseDuration(c.text);
  if (c.seconds > 0) {
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_EQ(*parsed, c.seconds);
  } else {
    ASSERT_FALSE(parsed.has_value()) << *parsed;
    EXPECT_EQ(parsed.error().code, Errc::kInvalidRequest);
    EXPECT_NE(parsed.error().message.find(c.why), std::string::npos) << parsed.error().message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Valid, DurationParseTest,
    ::testing::Values(ParseCase{"1s", 1}, ParseCase{"90s", 90}, ParseCase{"15m", 900},
                      ParseCase{"2h", 7200}, ParseCase{"1d", 86400}, ParseCase{"1w", 604800},
                      ParseCase{"1h30m", 5400}, ParseCase{"1d2h3m4s", 93784},
                      ParseCase{"1w1d", 691200}, ParseCase{"1h0m", 3600},
                      ParseCase{"0h5s", 5}, ParseCase{"007m", 420},
                      ParseCase{"366d", kMaxDurationSeconds},
                      ParseCase{"52w2d", kMaxDurationSeconds},
                      ParseCase{"31622400s", kMaxDurationSeconds}));

INSTANTIATE_TEST_SUITE_P(
    Invalid, DurationParseTest,
    ::testing::Values(ParseCase{"", 0, "empty"}, ParseCase{"90", 0, "no unit"},
                      ParseCase{"1h30", 0, "no unit"}, ParseCase{"h", 0, "expected a number"},
                      ParseCase{"1x", 0, "unknown unit 'x'"}, ParseCase{"1H", 0, "unknown unit"},
                      ParseCase{"-5m", 0, "expected a number"},
                      ParseCase{"+5m", 0, "expected a number"},
                      ParseCase{" 5m", 0, "expected a number"},
                      ParseCase{"5m ", 0, "expected a number"},
                      ParseCase{"1.5h", 0, "unknown unit '.'"},
                      ParseCase{"30m1h", 0, "largest first"},
                      ParseCase{"1h1h", 0, "largest first"}, ParseCase{"0s", 0, "zero"},
                      ParseCase{"0h0m", 0, "zero"}, ParseCase{"367d", 0, "366 days"},
                      ParseCase{"31622401s", 0, "366 days"}, ParseCase{"366d1s", 0, "366 days"},
                      ParseCase{"53w", 0, "366 days"},
                      ParseCase{"99999999999999999999999s", 0, "366 days"}));

TEST(DurationTest, ErrorQuotesTextAndGivesExamples) {
  const Result<std::int64_t> parsed = ParseDuration("5 minutes");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_NE(parsed.error().message.find("'5 minutes'"), std::string::npos);
  EXPECT_NE(parsed.error().message.find("1h30m"), std::string::npos);
}

TEST(DurationTest, FormatsShortest) {
  EXPECT_EQ(FormatDuration(45), "45s");
  EXPECT_EQ(FormatDuration(60), "1m");
  EXPECT_EQ(FormatDuration(5400), "1h30m");
  EXPECT_EQ(FormatDuration(90061), "1d1h1m1s");
  EXPECT_EQ(FormatDuration(1209600), "14d");
  EXPECT_EQ(FormatDuration(3601), "1h1s");
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(-5), "0s");
}

TEST(DurationTest, FormatRoundTripsThroughParse) {
  for (std::int64_t s : {std::int64_t{1}, std::int64_t{59}, std::int64_t{61}, std::int64_t{3599},
                         std::int64_t{86399}, std::int64_t{90061}, std::int64_t{604800},
                         kMaxDurationSeconds - 1, kMaxDurationSeconds}) {
    const Result<std::int64_t> parsed = ParseDuration(FormatDuration(s));
    ASSERT_TRUE(parsed.has_value()) << FormatDuration(s);
    EXPECT_EQ(*parsed, s) << FormatDuration(s);
  }
}

TEST(FormatUtcTest, PrintsSecondsAsRfc3339Utc) {
  EXPECT_EQ(FormatUtc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatUtc(1'800'000'000), "2027-01-15T08:00:00Z");
  EXPECT_EQ(FormatUtc(253'402'300'799), "9999-12-31T23:59:59Z");
}

}  // namespace
}  // namespace dbproxy
