// A token grant stuck at one workspace's token endpoint must not slow anything else down: the
// event loop never waits on the network, so status, /metrics and another workspace's callers
// (served from the cache or needing a grant of their own) keep their normal latency.
//
// Workspace "prod" (A) and "dev" (B) are enrolled with the same service principal on the one
// fake workspace; a latency fault makes the next token request, A's, hang for kHang.
#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "tests/integration/harness/integration_fixture.hpp"

namespace dbproxy::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr char kOtherWorkspace[] = "dev";
constexpr milliseconds kHang{4000};
constexpr milliseconds kNormal{500};

class SlowGrantTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    // Above the hang, so A's grant succeeds in the end; below the test's time bound.
    agent_->options().upstream_timeout_ms = 8000;
  }

  // The time `call` takes, with its response.
  static milliseconds Timed(const std::function<HttpResponse()>& call, HttpResponse* out) {
    const auto start = Clock::now();
    *out = call();
    return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  }
};

TEST_F(SlowGrantTest, HungGrantDoesNotDelayStatusMetricsOrOtherWorkspace) {
  ASSERT_TRUE(StartAndEnroll().ok());
  const HttpResponse enrolled =
      agent_->Enroll(kOtherWorkspace, kCredential, fake_->url(), kClientId, kSecret);
  ASSERT_EQ(enrolled.status, 201) << enrolled.Describe();
  UnixHttpClient b_client = agent_->Client();
  const HttpResponse warm = RequestToken(b_client, R"({"workspace":"dev","scope":"sql"})");
  ASSERT_EQ(warm.status, 200) << warm.Describe();

  ASSERT_TRUE(fake_->InjectFault({{"target", "token"}, {"count", 1},
                                  {"latency_ms", kHang.count()}}).ok());
  const int token_requests = fake_->TokenRequests();
  HttpResponse a_result;
  std::thread a_caller([&] {
    UnixHttpClient a_client = agent_->Client();
    a_result = a_client.Post("/v1/token", R"({"workspace":"prod","scope":"sql"})");
  });
  // A's grant is at the fake (and stuck there) once the fake has counted it.
  const bool stuck = WaitFor([&] { return fake_->TokenRequests() > token_requests; },
                             milliseconds(3000));
  const auto stuck_at = Clock::now();

  UnixHttpClient admin = agent_->AdminClient();
  HttpResponse status, metrics, b_cached, b_cold;
  const milliseconds status_time = Timed([&] { return admin.Get("/v1/status"); }, &status);
  const milliseconds metrics_time = Timed([&] { return admin.Get("/metrics"); }, &metrics);
  const milliseconds cached_time = Timed(
      [&] { return RequestToken(b_client, R"({"workspace":"dev","scope":"sql"})"); }, &b_cached);
  const int b_grants = fake_->Grants(kClientId);
  const milliseconds cold_time = Timed(
      [&] { return RequestToken(b_client, R"({"workspace":"dev","scope":"all-apis"})"); },
      &b_cold);
  const bool measured_while_stuck = Clock::now() - stuck_at < kHang - milliseconds(500);
  const int b_cold_grants = fake_->Grants(kClientId) - b_grants;
  a_caller.join();

  ASSERT_TRUE(stuck) << "A's token request never reached the fake";
  EXPECT_TRUE(measured_while_stuck) << "the measurements overlapped A's hang only partly";
  EXPECT_EQ(status.status, 200) << status.Describe();
  EXPECT_LT(status_time, kNormal) << "GET /v1/status waited for A's grant";
  EXPECT_EQ(metrics.status, 200) << metrics.Describe();
  EXPECT_LT(metrics_time, kNormal) << "GET /metrics waited for A's grant";
  EXPECT_EQ(b_cached.status, 200) << b_cached.Describe();
  EXPECT_LT(cached_time, kNormal) << "B's cached token waited for A's grant";
  EXPECT_EQ(b_cold.status, 200) << b_cold.Describe();
  EXPECT_EQ(b_cold_grants, 1) << "B's all-apis request should have needed a grant";
  EXPECT_LT(cold_time, kNormal) << "B's cold grant waited for A's grant";
  EXPECT_EQ(a_result.status, 200) << "A's grant should land after the hang: "
                                  << a_result.Describe();
}

}  // namespace
}  // namespace dbproxy::testing
