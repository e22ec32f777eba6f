#include "common/runtime/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/common/policy/rules_test_util.hpp"

namespace dbproxy {
namespace {

const RateLimit kSixPerMinute{.per_minute = 6, .rule = "role:paced"};

TEST(RateLimiterTest, BurstThenOneEveryInterval) {
  RateLimiter limiter;
  std::int64_t now = 1'000'000;
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(limiter.Admit("svc", kSixPerMinute, now).ok()) << i;
  Status refused = limiter.Admit("svc", kSixPerMinute, now);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kRateLimited);
  EXPECT_EQ(refused.error().rule, "role:paced");
  EXPECT_EQ(refused.error().retry_after_seconds, 10);  // one call every 10 s
  EXPECT_FALSE(limiter.Admit("svc", kSixPerMinute, now + 9'999).ok());
  EXPECT_TRUE(limiter.Admit("svc", kSixPerMinute, now + 10'000).ok());
  EXPECT_FALSE(limiter.Admit("svc", kSixPerMinute, now + 10'000).ok());
  // After a minute of silence the whole burst is back.
  now += 80'000;
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(limiter.Admit("svc", kSixPerMinute, now).ok()) << i;
  EXPECT_FALSE(limiter.Admit("svc", kSixPerMinute, now).ok());
}

TEST(RateLimiterTest, RefusedCallsAreNotCounted) {
  RateLimiter limiter;
  const RateLimit one{.per_minute = 1, .rule = "role:r"};
  EXPECT_TRUE(limiter.Admit("svc", one, 0).ok());
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(limiter.Admit("svc", one, 30'000).ok());
  Status last = limiter.Admit("svc", one, 59'500);
  ASSERT_FALSE(last.ok());
  EXPECT_EQ(last.error().retry_after_seconds, 1);  // 0.5 s rounds up, never 0
  EXPECT_TRUE(limiter.Admit("svc", one, 60'000).ok());
}

TEST(RateLimiterTest, KeysAreIndependent) {
  RateLimiter limiter;
  const RateLimit one{.per_minute = 1, .rule = "role:r"};
  EXPECT_TRUE(limiter.Admit("a", one, 0).ok());
  EXPECT_FALSE(limiter.Admit("a", one, 0).ok());
  EXPECT_TRUE(limiter.Admit("b", one, 0).ok());
}

TEST(RateLimiterTest, HighRatesAndLongRuns) {
  RateLimiter limiter;
  const RateLimit fast{.per_minute = 1'000'000, .rule = "role:r"};
  int admitted = 0;
  for (std::int64_t ms = 0; ms < 120'000; ms += 1) {
    for (int i = 0; i < 20; ++i) admitted += limiter.Admit("a", fast, ms).ok() ? 1 : 0;
  }
  // Two minutes: the initial burst plus two minutes' worth, give or take rounding.
  EXPECT_GE(admitted, 2'000'000);
  EXPECT_LE(admitted, 2'400'000);
}

TEST(RateLimiterTest, MemoryIsBoundedAndIdleKeysGoFirst) {
  RateLimiter limiter(3);
  const RateLimit one{.per_minute = 1, .rule = "role:r"};
  EXPECT_TRUE(limiter.Admit("a", one, 0).ok());
  EXPECT_TRUE(limiter.Admit("b", one, 10'000).ok());
  EXPECT_TRUE(limiter.Admit("c", one, 20'000).ok());
  EXPECT_EQ(limiter.size(), 3u);
  // At 65 s, "a" has refilled: it is dropped, the others keep their debt.
  EXPECT_TRUE(limiter.Admit("d", one, 65'000).ok());
  EXPECT_EQ(limiter.size(), 3u);
  EXPECT_FALSE(limiter.Admit("b", one, 65'000).ok());
  EXPECT_FALSE(limiter.Admit("c", one, 65'000).ok());
  // Nobody idle: the key with the least debt ("b") is forgotten.
  EXPECT_TRUE(limiter.Admit("e", one, 66'000).ok());
  EXPECT_EQ(limiter.size(), 3u);
  EXPECT_FALSE(limiter.Admit("c", one, 66'000).ok());
  EXPECT_FALSE(limiter.Admit("d", one, 66'000).ok());
  for (int i = 0; i < 1000; ++i) {
    (void)limiter.Admit("k" + std::to_string(i), one, 70'000);
  }
  EXPECT_LE(limiter.size(), 3u);
}

TEST(RateLimiterTest, ServiceRateLimitIsTheSmallestOfOwnAndGrantedRoles) {
  const Policy policy = rules_test::MustParse(R"(
[[service]]
name = "svc"
match = { unit = "svc.service" }
roles = ["free", "slow", "slower"]

[[service]]
name = "unpaced"
match = { unit = "u.service" }
roles = ["free"]

[[role]]
name = "free"
credential = "c"
actions = ["jobs.read"]

[[role]]
name = "slow"
credential = "c"
actions = ["jobs.run"]
limits = { requests_per_minute = 60 }

[[role]]
name = "slower"
credential = "c"
actions = ["clusters.read"]
limits = { requests_per_minute = 30 }

[[role]]
name = "slowest"
credential = "c"
actions = ["sql.read"]
limits = { requests_per_minute = 5 }
)");
  std::optional<RateLimit> limit = ServiceRateLimit(policy, *policy.FindService("svc"), nullptr);
  ASSERT_TRUE(limit);
  EXPECT_EQ(limit->per_minute, 30);
  EXPECT_EQ(limit->rule, "role:slower");
  const std::vector<std::string> granted = {"slowest", "unknown-role"};
  limit = ServiceRateLimit(policy, *policy.FindService("svc"), &granted);
  ASSERT_TRUE(limit);
  EXPECT_EQ(limit->per_minute, 5);
  EXPECT_EQ(limit->rule, "role:slowest");
  EXPECT_FALSE(ServiceRateLimit(policy, *policy.FindService("unpaced"), nullptr));
  limit = ServiceRateLimit(policy, *policy.FindService("unpaced"), &granted);
  ASSERT_TRUE(limit);
  EXPECT_EQ(limit->per_minute, 5);
}

}  // namespace
}  // namespace dbproxy
