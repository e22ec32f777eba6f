// The token cache seen from outside: single-flight, refresh ahead of expiry, serving a cached
// token while the workspace refuses to issue a new one. Grants are counted by the fake.
//
// The tests ask for scope "sql": enrolling fetches an all-apis token, which the agent may
// keep, so "sql" is guaranteed to start cold.
#include <gtest/gtest.h>

#include <latch>
#include <set>
#include <thread>

#include "tests/integration/harness/integration_fixture.hpp"

namespace dbproxy::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr char kSqlRequest[] = R"({"scope":"sql"})";

class TokenCacheTest : public IntegrationTest {
 protected:
  std::string TokenOf(const HttpResponse& r) { return r.Json().value("access_token", ""); }
};

TEST_F(TokenCacheTest, HundredSequentialRequestsCauseOneGrant) {
  const HarnessStatus enrolled = StartAndEnroll();
  ASSERT_TRUE(enrolled.ok()) << enrolled.error;
  const int grants_before = fake_->Grants(kClientId);
  ASSERT_GE(grants_before, 1) << "enroll should have validated the secret with a grant";

  UnixHttpClient client = agent_->Client();
  std::string first;
  for (int i = 0; i < 100; ++i) {
    const HttpResponse r = RequestToken(client, kSqlRequest);
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.Describe();
    if (i == 0) first = TokenOf(r);
    EXPECT_EQ(TokenOf(r), first) << "request " << i;
  }
  EXPECT_EQ(client.requests_on_connection(), 100) << "the agent should keep the connection";
  EXPECT_EQ(fake_->Grants(kClientId) - grants_before, 1);
}

// The callers' connections are spread over four event loops: the cache and its single flight
// are shared by all of them.
TEST_F(TokenCacheTest, TwoHundredConcurrentColdRequestsCauseOneGrant) {
  agent_->options().event_loops = 4;
  agent_->WriteConfig();
  const HarnessStatus enrolled = StartAndEnroll();
  ASSERT_TRUE(enrolled.ok()) << enrolled.error;
  const int grants_before = fake_->Grants(kClientId);
  // A slow token endpoint keeps the one upstream request in flight while all callers arrive.
  ASSERT_TRUE(fake_->InjectFault({{"target", "token"}, {"count", 1}, {"latency_ms", 500}}).ok());

  constexpr int kCallers = 200;
  std::vector<UnixHttpClient> clients;
  for (int i = 0; i < kCallers; ++i) {
    clients.push_back(agent_->Client());
    ASSERT_TRUE(clients.back().Connect().ok()) << "connection " << i;
  }
  std::vector<HttpResponse> results(kCallers);
  std::latch go(kCallers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      results[static_cast<std::size_t>(i)] = clients[static_cast<std::size_t>(i)].Post(
          "/v1/token", kSqlRequest);
    });
  }
  for (auto& t : threads) t.join();

  std::set<std::string> tokens;
  for (int i = 0; i < kCallers; ++i) {
    const HttpResponse& r = results[static_cast<std::size_t>(i)];
    EXPECT_EQ(r.status, 200) << "caller " << i << ": " << r.Describe();
    tokens.insert(TokenOf(r));
    RecordToken(TokenOf(r));
  }
  EXPECT_EQ(tokens.size(), 1u);
  EXPECT_EQ(fake_->Grants(kClientId) - grants_before, 1);
  EXPECT_NE(agent_->Stderr().find("4 event loops"), std::string::npos) << agent_->Stderr();
}

TEST_F(TokenCacheTest, ExpiringTokenIsRefreshedAhead) {
  ASSERT_TRUE(fake_->SetTokenLifetime(5).ok());
  const HarnessStatus enrolled = StartAndEnroll();
  ASSERT_TRUE(enrolled.ok()) << enrolled.error;
  UnixHttpClient client = agent_->Client();

  const HttpResponse first = RequestToken(client, kSqlRequest);
  ASSERT_EQ(first.status, 200) << first.Describe();
  // Timed from the answer: the token was fetched before this, whatever the load.
  const auto t0 = Clock::now();
  const std::string t1 = TokenOf(first);
  EXPECT_LE(first.Json().value("expires_in", 0), 5);
  EXPECT_EQ(TokenOf(RequestToken(client, kSqlRequest)), t1) << "cached while fresh";
  const int grants_fresh = fake_->Grants(kClientId);

  // 3.5 s in, at most 1.5 s are left: below refresh_ahead_seconds (2), so the agent refreshes
  // now, while the old token still works.
  std::this_thread::sleep_until(t0 + milliseconds(3500));
  const HttpResponse ahead = RequestToken(client, kSqlRequest);
  ASSERT_EQ(ahead.status, 200) << ahead.Describe();
  EXPECT_TRUE(WaitFor([&] { return fake_->Grants(kClientId) > grants_fresh; }, milliseconds(1500)))
      << "no refresh was made within the refresh-ahead window";

  // After t1's expiry the fake rejects it and the agent must hand out another one.
  std::this_thread::sleep_until(t0 + milliseconds(5600));
  EXPECT_NE(fake_->CallApi(kMePath, t1).status, 200) << "the fake should reject expired tokens";
  const HttpResponse later = RequestToken(client, kSqlRequest);
  ASSERT_EQ(later.status, 200) << later.Describe();
  EXPECT_NE(TokenOf(later), t1);
  EXPECT_GE(later.Json().value("expires_in", 0), 1);
  EXPECT_EQ(fake_->CallApi(kMePath, TokenOf(later)).status, 200);

  // A caller's own floor: never a token with less than min_ttl_seconds left.
  const HttpResponse floor = RequestToken(client, R"({"scope":"sql","min_ttl_seconds":4})");
  ASSERT_EQ(floor.status, 200) << floor.Describe();
  EXPECT_GE(floor.Json().value("expires_in", 0), 4) << floor.body;
}

TEST_F(TokenCacheTest, CachedTokenServedWhileRefreshGets503) {
  // 12 s tokens refreshed 5 s ahead (the agent caps "ahead" at half the lifetime, 6 s).
  ASSERT_TRUE(fake_->SetTokenLifetime(12).ok());
  agent_->options().refresh_ahead_seconds = 5;
  agent_->WriteConfig();
  const HarnessStatus enrolled = StartAndEnroll();
  ASSERT_TRUE(enrolled.ok()) << enrolled.error;
  UnixHttpClient client = agent_->Client();

  const HttpResponse first = RequestToken(client, kSqlRequest);
  ASSERT_EQ(first.status, 200) << first.Describe();
  // Timed from the answer: the token was fetched before this, whatever the load.
  const auto t0 = Clock::now();
  const std::string t1 = TokenOf(first);
  ASSERT_TRUE(fake_->InjectFault({{"target", "token"},
                                  {"count", 100000},
                                  {"status", 503},
                                  {"retry_after", 1}})
                  .ok());
  const int requests_before = fake_->TokenRequests();
  const int grants_before = fake_->Grants(kClientId);

  // 8.5 s in, 3.5 s left: well inside the refresh window (5 s), above min_ttl (1 s); the
  // margins cover the agent's whole-second clock.
  std::this_thread::sleep_until(t0 + milliseconds(8500));
  const HttpResponse during = RequestToken(client, kSqlRequest);
  ASSERT_EQ(during.status, 200) << during.Describe();
  EXPECT_EQ(TokenOf(during), t1);
  EXPECT_TRUE(WaitFor([&] { return fake_->TokenRequests() > requests_before; }, seconds(2)))
      << "the agent never tried to refresh inside the refresh window; fake counters: "
      << fake_->Counters().dump() << " (before: " << requests_before << ")";
  EXPECT_EQ(fake_->Grants(kClientId), grants_before);
  EXPECT_EQ(fake_->CallApi(kMePath, t1).status, 200);

  // Once t1 has expired there is nothing valid to serve: 503 upstream_unavailable + Retry-After.
  std::this_thread::sleep_until(t0 + milliseconds(12600));
  const HttpResponse expired = RequestToken(client, kSqlRequest);
  EXPECT_EQ(expired.status, 503) << expired.Describe();
  EXPECT_EQ(expired.Json()["error"].value("code", ""), "upstream_unavailable") << expired.body;
  EXPECT_FALSE(expired.Header("retry-after").empty());

  // The workspace recovers: the next request gets a fresh token.
  ASSERT_TRUE(fake_->Control("POST", "/_fake/reset").status == 200);
  EXPECT_TRUE(WaitFor([&] { return RequestToken(client, kSqlRequest).status == 200; },
                      seconds(10), milliseconds(250)));
  const HttpResponse recovered = RequestToken(client, kSqlRequest);
  ASSERT_EQ(recovered.status, 200) << recovered.Describe();
  EXPECT_NE(TokenOf(recovered), t1);
}

}  // namespace
}  // namespace dbproxy::testing
