// Proxy mode, upstream timeouts: [upstream] timeout_ms bounds the wait for the workspace's
// answer head (504 upstream_timeout), a SQL statement's wait_timeout extends it, and
// [proxy] request_timeout_ms bounds the whole call.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/integration/harness/integration_fixture.hpp"
#include "tests/integration/harness/runtime_fixture.hpp"

namespace dbproxy::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr char kClusters[] = "/api/2.1/clusters/list";
constexpr char kTimeoutStatements[] = "/api/2.0/sql/statements";
constexpr int kHeadTimeoutMs = 2000;
// Start-up of an ASan build, a token grant and scheduling on a loaded machine.
constexpr milliseconds kMargin{2500};

std::string TimeoutPolicy() {
  return std::string("[[service]]\nname = \"root-tests\"\nmatch = { uid = 0 }\nworkspace = \"") +
         kWorkspace + "\"\nroles = [\"etl\"]\n\n[[role]]\nname = \"etl\"\ncredential = \"" +
         kCredential + "\"\nactions = [\"clusters.*\", \"sql.*\"]\n";
}

class UpstreamTimeoutTest : public IntegrationTest {
 protected:
  void Start(const std::string& proxy_section = "") {
    agent_->options().policy = TimeoutPolicy();
    agent_->options().upstream_timeout_ms = kHeadTimeoutMs;
    agent_->options().proxy_section = proxy_section;
    agent_->WriteConfig();
    const HarnessStatus started = StartAndEnroll();
    ASSERT_TRUE(started.ok()) << started.error;
    // Token and connection first, so the timed call measures the workspace's delay only.
    UnixHttpClient warm = agent_->Client();
    ASSERT_EQ(warm.Get(kClusters).status, 200);
  }

  void DelayNextApiAnswer(int latency_ms) const {
    ASSERT_TRUE(fake_->InjectFault({{"target", "api"}, {"latency_ms", latency_ms}}).ok());
  }
};

TEST_F(UpstreamTimeoutTest, SlowAnswerHeadIsA504WithinTheUpstreamTimeout) {
  Start();
  DelayNextApiAnswer(4 * kHeadTimeoutMs);
  UnixHttpClient client = agent_->Client();
  const auto started = steady_clock::now();
  const HttpResponse r = client.Get(kClusters);
  const auto took = std::chrono::duration_cast<milliseconds>(steady_clock::now() - started);
  EXPECT_EQ(r.status, 504) << r.Describe();
  EXPECT_EQ(ErrorCode(r), "upstream_timeout") << r.body;
  EXPECT_GE(took, milliseconds(kHeadTimeoutMs) - milliseconds(100));
  EXPECT_LT(took, milliseconds(kHeadTimeoutMs) + kMargin) << took.count() << " ms";
  // The agent and the workspace are fine afterwards.
  EXPECT_EQ(agent_->Client().Get(kClusters).status, 200);
}

TEST_F(UpstreamTimeoutTest, StatementWaitTimeoutExtendsTheWaitForTheHead) {
  Start();
  // Databricks holds a statement's answer up to its wait_timeout: not a slow workspace.
  DelayNextApiAnswer(kHeadTimeoutMs + 1500);
  UnixHttpClient client = agent_->Client();
  const HttpResponse r = client.Post(
      kTimeoutStatements, R"({"statement":"SELECT 1","warehouse_id":"wh-1","wait_timeout":"5s"})");
  EXPECT_NE(r.status, 504) << r.Describe();
  EXPECT_NE(r.status, 0) << r.Describe();
  // Without one, the same delay is a timeout.
  DelayNextApiAnswer(kHeadTimeoutMs + 1500);
  const HttpResponse late =
      client.Post(kTimeoutStatements, R"({"statement":"SELECT 1","warehouse_id":"wh-1"})");
  EXPECT_EQ(late.status, 504) << late.Describe();
}

TEST_F(UpstreamTimeoutTest, RequestTimeoutBoundsTheWholeCall) {
  Start("request_timeout_ms = 1500\n");
  DelayNextApiAnswer(4 * kHeadTimeoutMs);
  UnixHttpClient client = agent_->Client();
  const auto started = steady_clock::now();
  const HttpResponse r = client.Get(kClusters);
  const auto took = std::chrono::duration_cast<milliseconds>(steady_clock::now() - started);
  EXPECT_EQ(r.status, 504) << r.Describe();
  EXPECT_EQ(ErrorCode(r), "upstream_timeout") << r.body;
  EXPECT_LT(took, milliseconds(1500) + kMargin) << took.count() << " ms";
}

}  // namespace
}  // namespace dbproxy::testing
