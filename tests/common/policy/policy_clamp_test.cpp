// Clamping roles: sql_row_limit_clamp / sql_byte_limit_clamp in parsing, Evaluate and the
// raw-token check.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "common/policy/policy.hpp"
#include "tests/common/policy/rules_test_util.hpp"

namespace dbproxy {
namespace {

using rules_test::Call;
using rules_test::CallOf;
using rules_test::Decide;
using rules_test::MustParse;
using rules_test::Outcome;

constexpr const char* kClamping = R"(
[[service]]
name = "bi"
match = { uid = 3001 }
roles = ["clamped"]

[[service]]
name = "mixed"
match = { uid = 3002 }
roles = ["strict", "clamped"]

[[role]]
name = "clamped"
credential = "c-sp"
actions = ["sql.*", "token:sql"]
limits = { sql_row_limit_max = 1000, sql_row_limit_clamp = true, sql_byte_limit_max = 4096, sql_byte_limit_clamp = true, sql_warehouses = ["wh-1"] }

[[role]]
name = "strict"
credential = "s-sp"
actions = ["sql.execute"]
limits = { sql_row_limit_max = 10 }
)";

Call Statement(const char* service, std::optional<std::int64_t> rows,
               std::optional<std::int64_t> bytes, const char* warehouse = "wh-1",
               bool inspected = true) {
  Call call = CallOf(service, "sql.execute");
  call.facts.method = "POST";
  call.facts.path = "/api/2.0/sql/statements";
  call.facts.row_limit = rows;
  call.facts.byte_limit = bytes;
  call.facts.warehouse = warehouse;
  call.facts.sql_statement_body = inspected;
  return call;
}

TEST(PolicyClampTest, ParsesClampFlags) {
  const Policy policy = MustParse(kClamping);
  const Role* role = policy.FindRole("clamped");
  ASSERT_NE(role, nullptr);
  EXPECT_TRUE(role->limits.sql_row_limit_clamp);
  EXPECT_TRUE(role->limits.sql_byte_limit_clamp);
  EXPECT_FALSE(policy.FindRole("strict")->limits.sql_row_limit_clamp);
  EXPECT_TRUE(policy.FindRole("strict")->limits.any());
}

TEST(PolicyClampTest, ClampFlagErrors) {
  const std::string head = R"(
[[role]]
name = "r"
credential = "c"
actions = ["sql.execute"]
)";
  struct Case {
    const char* limits;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"{ sql_row_limit_clamp = true }", "sql_row_limit_clamp needs sql_row_limit_max >= 1"},
      {"{ sql_row_limit_max = 0, sql_row_limit_clamp = true }",
       "sql_row_limit_clamp needs sql_row_limit_max >= 1"},
      {"{ sql_byte_limit_clamp = true, sql_row_limit_max = 5 }",
       "sql_byte_limit_clamp needs sql_byte_limit_max >= 1"},
      {"{ sql_row_limit_max = 5, sql_row_limit_clamp = \"yes\" }",
       "sql_row_limit_clamp must be true or false"},
      {"{ sql_row_limit_max = 5, sql_row_limit_clamps = true }", "unknown key"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.limits);
    const std::string message = rules_test::ParseError(head + "limits = " + c.limits + "\n");
    EXPECT_NE(message.find(c.message), std::string::npos) << message;
    EXPECT_NE(message.find("50-rules.toml:"), std::string::npos) << message;
  }
  // false is accepted even without a max.
  EXPECT_FALSE(MustParse(head + "limits = { sql_row_limit_clamp = false }\n")
                   .FindRole("r")
                   ->limits.sql_row_limit_clamp);
}

TEST(PolicyClampTest, ClampingRoleAllowsAndNamesTheRewrites) {
  const Policy policy = MustParse(kClamping);
  struct Case {
    std::optional<std::int64_t> rows, bytes;
    std::vector<std::string> clamps;
  };
  const std::vector<Case> cases = {
      {10, 10, {}},
      {1000, 4096, {}},
      {std::nullopt, 10, {"row_limit=1000"}},
      {5000, 10, {"row_limit=1000"}},
      {10, std::nullopt, {"byte_limit=4096"}},
      {std::nullopt, 1 << 20, {"row_limit=1000", "byte_limit=4096"}},
  };
  for (const Case& c : cases) {
    const Decision decision = Decide(policy, Statement("bi", c.rows, c.bytes));
    EXPECT_EQ(Outcome(decision), "allow:role:clamped");
    EXPECT_EQ(decision.clamps, c.clamps);
    if (!c.clamps.empty()) {
      EXPECT_NE(decision.reason.find("with " + c.clamps.front()), std::string::npos)
          << decision.reason;
    }
  }
}

TEST(PolicyClampTest, WarehousesAreNeverClamped) {
  const Policy policy = MustParse(kClamping);
  const Decision decision = Decide(policy, Statement("bi", std::nullopt, std::nullopt, "wh-9"));
  EXPECT_EQ(Outcome(decision), "deny:default-deny");
  EXPECT_TRUE(decision.clamps.empty());
  EXPECT_NE(decision.reason.find("warehouse"), std::string::npos);
}

TEST(PolicyClampTest, OnlyAnInspectedStatementBodyIsClamped) {
  // Without a body the proxy read (an unusual method, say), there is nothing to rewrite.
  const Policy policy = MustParse(kClamping);
  const Decision decision =
      Decide(policy, Statement("bi", std::nullopt, 10, "wh-1", /*inspected=*/false));
  EXPECT_EQ(Outcome(decision), "deny:default-deny");
  EXPECT_NE(decision.reason.find("requires row_limit <= 1000"), std::string::npos);
}

TEST(PolicyClampTest, RoleOrderDecidesBetweenRefusingAndClamping) {
  const Policy policy = MustParse(kClamping);
  // "strict" comes first: within its limit it allows unchanged...
  Decision decision = Decide(policy, Statement("mixed", 5, 10));
  EXPECT_EQ(Outcome(decision), "allow:role:strict");
  EXPECT_TRUE(decision.clamps.empty());
  // ...above it, the clamping role after it allows with a rewrite.
  decision = Decide(policy, Statement("mixed", 500, 10));
  EXPECT_EQ(Outcome(decision), "allow:role:clamped");
  EXPECT_TRUE(decision.clamps.empty());
  decision = Decide(policy, Statement("mixed", 50000, 10));
  EXPECT_EQ(decision.clamps, std::vector<std::string>{"row_limit=1000"});
}

TEST(PolicyClampTest, DenyRulesSeeTheRequestAsSent) {
  const Policy policy = MustParse(std::string(kClamping) + R"(
[[rule]]
id = "rows-required"
effect = "deny"
actions = ["sql.execute"]
when = { "request.row_limit" = { present = false } }
)");
  EXPECT_EQ(Outcome(Decide(policy, Statement("bi", std::nullopt, 10))), "deny:rows-required");
  EXPECT_EQ(Outcome(Decide(policy, Statement("bi", 99999, 10))), "allow:role:clamped");
}

TEST(PolicyClampTest, TraceShowsTheClamp) {
  const Policy policy = MustParse(kClamping);
  std::vector<TraceStep> trace;
  (void)Decide(policy, Statement("bi", std::nullopt, 10), &trace);
  const std::string text = rules_test::TraceText(trace);
  EXPECT_NE(text.find("role clamped -> allows sql.execute with row_limit=1000"), std::string::npos)
      << text;
}

TEST(PolicyClampTest, ClampLimitsStillRestrictRawTokens) {
  const Policy policy = MustParse(kClamping);
  EXPECT_EQ(rules_test::Bypass(policy, CallOf("bi", "token:sql"), "sql"), "role:clamped");
  EXPECT_EQ(rules_test::Bypass(policy, CallOf("bi", "token:sql:read"), "sql:read"), "");
}

}  // namespace
}  // namespace dbproxy
