// `dbproxyctl explain` against a real dbproxyd: it takes every request fact a proxied call can
// carry, and it answers what a real request with the same facts gets (the same decision path,
// common/policy/decide.hpp), maintenance rule included.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/harness/runtime_fixture.hpp"

namespace dbproxy::testing {
namespace {

// Root (the test process) may manage clusters, run jobs and execute SQL within these rules.
std::string FactsPolicy() {
  return std::string("[[service]]\nname = \"root-tests\"\nmatch = { uid = 0 }\n") +
         "workspace = \"" + kWorkspace + "\"\nroles = [\"worker\"]\n\n" +
         "[[role]]\nname = \"worker\"\ncredential = \"" + kCredential + "\"\n" +
         "actions = [\"clusters.*\", \"jobs.*\", \"sql.*\"]\n\n" +
         R"([[rule]]
id = "small-clusters"
effect = "deny"
actions = ["clusters.manage"]
unless = { "request.num_workers" = { le = 4 }, "request.node_type" = "m5.large", "request.driver_node_type" = "m5.large" }

[[rule]]
id = "sql-shape"
effect = "deny"
actions = ["sql.execute"]
unless = { "request.disposition" = "INLINE", "request.byte_limit" = { le = 1000 }, "request.statement_bytes" = { le = 100 } }

[[rule]]
id = "job-101-only"
effect = "deny"
actions = ["jobs.run"]
unless = { "request.job_id" = "101" }
)";
}

class ExplainTest : public RuntimeFixture {
 protected:
  // `dbproxyctl --json explain args...`: the decision's effect and rule.
  std::string Explained(std::vector<std::string> args) {
    args.insert(args.begin(), {"--json", "explain"});
    const CtlResult result = RunCtl(args);
    const nlohmann::json answer = nlohmann::json::parse(result.out, nullptr, false);
    if (!answer.is_object() || !answer.contains("decision")) return "error: " + result.Describe();
    return answer["decision"].value("effect", "") + ":" + answer["decision"].value("rule", "");
  }
};

TEST_F(ExplainTest, ExplainAndARequestNameTheSameMaintenanceRule) {
  ASSERT_TRUE(StartAndEnroll().ok());
  const CtlResult on =
      RunCtl({"maintenance", "on", "--service", kBatchService, "--reason", "rewrite"});
  ASSERT_EQ(on.exit_code, 0) << on.Describe();
  const HttpResponse refused = BatchToken();
  ASSERT_EQ(refused.status, 503) << refused.Describe();
  const std::string rule = refused.Json()["error"].value("rule", "");
  EXPECT_EQ(rule, std::string("maintenance:service:") + kBatchService);
  EXPECT_EQ(Explained({"--uid", std::to_string(kStrangerUid), "token:all-apis"}), "deny:" + rule);
  EXPECT_EQ(Explained({"--service", kBatchService, "token:all-apis"}), "deny:" + rule);
}

TEST_F(ExplainTest, TakesEveryRequestFactAndAgreesWithProxiedCalls) {
  agent_->options().policy = FactsPolicy();
  agent_->WriteConfig();
  ASSERT_TRUE(StartAndEnroll().ok());
  const std::string create = "POST /api/2.1/clusters/create";
  const std::vector<std::string> small = {"--node-type", "m5.large", "--driver-node-type",
                                          "m5.large", "--uid", "0"};
  std::vector<std::string> args = small;
  args.insert(args.end(), {"--num-workers", "2", create});
  EXPECT_EQ(Explained(args), "allow:role:worker");
  args = small;
  args.insert(args.end(), {"--num-workers", "8", create});
  EXPECT_EQ(Explained(args), "deny:small-clusters");

  const std::string statements = "POST /api/2.0/sql/statements";
  EXPECT_EQ(Explained({"--uid", "0", "--disposition", "INLINE", "--byte-limit", "500",
                       "--statement-bytes", "20", "--warehouse", "wh-1", "--row-limit", "5",
                       statements}),
            "allow:role:worker");
  EXPECT_EQ(Explained({"--uid", "0", "--disposition", "EXTERNAL_LINKS", "--byte-limit", "500",
                       "--statement-bytes", "20", statements}),
            "deny:sql-shape");
  EXPECT_EQ(Explained({"--uid", "0", "--job-id", "101", "jobs.run"}), "allow:role:worker");
  EXPECT_EQ(Explained({"--uid", "0", "--job-id", "102", "jobs.run"}), "deny:job-101-only");

  // The real calls with the denied facts get the same rule.
  UnixHttpClient client = agent_->Client();
  const HttpHeaders json = {{"Content-Type", "application/json"}};
  const HttpResponse cluster = client.Request(
      "POST", "/api/2.1/clusters/create",
      R"({"cluster_name":"x","node_type_id":"m5.large","driver_node_type_id":"m5.large",)"
      R"("num_workers":8})",
      json);
  EXPECT_EQ(cluster.status, 403) << cluster.Describe();
  EXPECT_EQ(cluster.Json()["error"].value("rule", ""), "small-clusters") << cluster.body;
  const HttpResponse run =
      client.Request("POST", "/api/2.2/jobs/run-now", R"({"job_id":102})", json);
  EXPECT_EQ(run.status, 403) << run.Describe();
  EXPECT_EQ(run.Json()["error"].value("rule", ""), "job-101-only") << run.body;
}

}  // namespace
}  // namespace dbproxy::testing
