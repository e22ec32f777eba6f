// Request attributes that only proxied calls carry: disposition, node types, worker counts.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/calls/request_body.hpp"
#include "tests/common/policy/rules_test_util.hpp"

namespace dbproxy {
namespace {

using rules_test::Call;
using rules_test::CallOf;
using rules_test::Decide;
using rules_test::MustParse;
using rules_test::Outcome;

TEST(RulesProxyFactsTest, NewAttributesParseAndAreCallLevel) {
  struct Case {
    const char* name;
    AttributeKind kind;
    bool integer;
  };
  const std::vector<Case> cases = {
      {"request.disposition", AttributeKind::kRequestDisposition, false},
      {"request.node_type", AttributeKind::kRequestNodeType, false},
      {"request.driver_node_type", AttributeKind::kRequestDriverNodeType, false},
      {"request.num_workers", AttributeKind::kRequestNumWorkers, true},
      {"request.row_limit", AttributeKind::kRequestRowLimit, true},
      {"request.job_id", AttributeKind::kRequestJobId, false},
      {"request.secret_scope", AttributeKind::kRequestSecretScope, false},
      {"request.secret_key", AttributeKind::kRequestSecretKey, false},
      {"request.target_path", AttributeKind::kRequestTargetPath, false},
      {"caller.uid", AttributeKind::kCallerUid, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::optional<AttributeRef> ref = ParseAttributeRef(c.name);
    ASSERT_TRUE(ref);
    EXPECT_EQ(ref->kind, c.kind);
    EXPECT_EQ(ref->IntegerValued(), c.integer);
    EXPECT_EQ(ref->CallLevel(), std::string(c.name).starts_with("request.") &&
                                    std::string(c.name) != "request.action");
  }
  EXPECT_FALSE(ParseAttributeRef("request.node_type_id"));
  EXPECT_FALSE(ParseAttributeRef("request.max_workers"));
}

constexpr const char* kClusterPolicy = R"(
[[service]]
name = "etl"
match = { unit = "etl.service" }
attributes = { env = "staging" }
roles = ["builder"]

[[role]]
name = "builder"
credential = "b-sp"
actions = ["clusters.*", "sql.*", "token:*"]

[[rule]]
id = "small-clusters-in-staging"
effect = "deny"
actions = ["clusters.manage"]
when = { "service.env" = "staging" }
unless = { "request.num_workers" = { le = 8 }, "request.node_type" = { in = ["m5.large", "m5.xlarge"] }, "request.driver_node_type" = { ne = "x1.32xlarge" } }

[[rule]]
id = "no-external-links"
effect = "deny"
actions = ["sql.execute"]
when = { "request.disposition" = "EXTERNAL_LINKS" }
)";

Call Cluster(std::optional<std::int64_t> workers, std::optional<std::string> node,
             std::optional<std::string> driver = std::nullopt, const char* service = "etl") {
  Call call = CallOf(service, "clusters.manage");
  call.facts.num_workers = workers;
  call.facts.node_type = std::move(node);
  call.facts.driver_node_type = std::move(driver);
  return call;
}

TEST(RulesProxyFactsTest, ClusterSizeRule) {
  const Policy policy = MustParse(kClusterPolicy);
  EXPECT_EQ(Outcome(Decide(policy, Cluster(8, "m5.large"))), "allow:role:builder");
  EXPECT_EQ(Outcome(Decide(policy, Cluster(0, "m5.xlarge", "m5.xlarge"))), "allow:role:builder");
  EXPECT_EQ(Outcome(Decide(policy, Cluster(9, "m5.large"))), "deny:small-clusters-in-staging");
  EXPECT_EQ(Outcome(Decide(policy, Cluster(2, "r5.24xlarge"))), "deny:small-clusters-in-staging");
  EXPECT_EQ(Outcome(Decide(policy, Cluster(2, "m5.large", "x1.32xlarge"))),
            "deny:small-clusters-in-staging");
  // A body that leaves the size out (an instance pool, a cluster policy) is not "small".
  EXPECT_EQ(Outcome(Decide(policy, Cluster(std::nullopt, "m5.large"))),
            "deny:small-clusters-in-staging");
  EXPECT_EQ(Outcome(Decide(policy, Cluster(2, std::nullopt))), "deny:small-clusters-in-staging");
}

TEST(RulesProxyFactsTest, FactsFromABodyReachTheRules) {
  const Policy policy = MustParse(kClusterPolicy);
  Result<Classification> create = ClassifyCall("POST", "/api/2.1/clusters/create");
  ASSERT_TRUE(create.has_value());
  Result<BodyFacts> body = InspectBody(
      *create, R"({"node_type_id": "m5.large", "autoscale": {"min_workers": 1, "max_workers": 20}})");
  ASSERT_TRUE(body.has_value());
  Call call = CallOf("etl", "clusters.manage");
  AddToRequestFacts(*body, call.facts);
  EXPECT_EQ(Outcome(Decide(policy, call)), "deny:small-clusters-in-staging");

  Result<Classification> statements = ClassifyCall("POST", "/api/2.0/sql/statements");
  ASSERT_TRUE(statements.has_value());
  body = InspectBody(*statements, R"({"statement": "SELECT 1", "disposition": "EXTERNAL_LINKS"})");
  ASSERT_TRUE(body.has_value());
  call = CallOf("etl", "sql.execute");
  AddToRequestFacts(*body, call.facts);
  EXPECT_EQ(Outcome(Decide(policy, call)), "deny:no-external-links");
  call.facts.disposition = "INLINE";
  EXPECT_EQ(Outcome(Decide(policy, call)), "allow:role:builder");
}

TEST(RulesProxyFactsTest, RulesOnBodyFactsBlockRawTokens) {
  const Policy policy = MustParse(kClusterPolicy);
  EXPECT_EQ(rules_test::Bypass(policy, CallOf("etl", "token:clusters"), "clusters"),
            "small-clusters-in-staging");
  EXPECT_EQ(rules_test::Bypass(policy, CallOf("etl", "token:sql"), "sql"), "no-external-links");
  EXPECT_EQ(rules_test::Bypass(policy, CallOf("etl", "token:jobs"), "jobs"), "");
}

// The examples of docs/policy.md of clamping and cluster-size rules, written as policy.
TEST(RulesProxyFactsTest, ReadmeClampAndClusterExamples) {
  const Policy policy = MustParse(R"(
[[service]]
name = "bi"
match = { unit = "bi.service" }
attributes = { env = "staging" }
roles = ["analyst", "builder"]

[[role]]
name = "analyst"
credential = "analyst-sp"
actions = ["sql.*"]
limits = { sql_row_limit_max = 1000, sql_row_limit_clamp = true, requests_per_minute = 120 }

[[role]]
name = "builder"
credential = "b-sp"
actions = ["clusters.*"]

[[rule]]
id = "staging-small-clusters"
effect = "deny"
actions = ["clusters.manage"]
when = { "service.env" = "staging" }
unless = { "request.num_workers" = { le = 8 }, "request.node_type" = { glob = "m5.*" } }
)");
  Call sql = CallOf("bi", "sql.execute");
  sql.facts.sql_statement_body = true;
  Decision decision = Decide(policy, sql);
  EXPECT_EQ(Outcome(decision), "allow:role:analyst");
  EXPECT_EQ(decision.clamps, std::vector<std::string>{"row_limit=1000"});
  EXPECT_EQ(Outcome(Decide(policy, Cluster(4, "m5.xlarge", std::nullopt, "bi"))), "allow:role:builder");
  EXPECT_EQ(Outcome(Decide(policy, Cluster(4, "r5.large", std::nullopt, "bi"))), "deny:staging-small-clusters");
  EXPECT_EQ(Outcome(Decide(policy, Cluster(16, "m5.large", std::nullopt, "bi"))), "deny:staging-small-clusters");
}

}  // namespace
}  // namespace dbproxy
