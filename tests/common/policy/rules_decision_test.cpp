// Evaluate: precedence of deny rules, roles, granted roles and allow rules; role limits;
// when/unless; traces; the examples of docs/policy.md.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/policy/policy.hpp"
#include "tests/common/policy/rules_test_util.hpp"

namespace dbproxy {
namespace {

using rules_test::Call;
using rules_test::CallOf;
using rules_test::Decide;
using rules_test::kDay;
using rules_test::kHour;
using rules_test::kMonday1030;
using rules_test::MustParse;
using rules_test::Outcome;
using rules_test::TraceText;

constexpr char kBase[] = R"([[service]]
name = "app"
match = { uid = 1000 }
attributes = { env = "staging", team = "data" }
roles = ["reader", "etl"]

[[service]]
name = "ops"
match = { uid = 1001 }
attributes = { env = "production", team = "platform" }
roles = ["admin"]

[[service]]
name = "loner"
match = { uid = 1002 }

[[role]]
name = "reader"
credential = "ro-sp"
actions = ["*.read"]

[[role]]
name = "etl"
credential = "etl-sp"
actions = ["jobs.*", "token:sql"]

[[role]]
name = "admin"
credential = "admin-sp"
actions = ["*"]

[[role]]
name = "oncall"
credential = "oncall-sp"
actions = ["clusters.manage", "jobs.run"]
)";

std::string RuleText(const std::string& id, const std::string& effect, const std::string& actions,
                     const std::string& extra = "") {
  return "\n[[rule]]\nid = \"" + id + "\"\neffect = \"" + effect + "\"\nactions = " + actions +
         "\n" + extra;
}

std::string With(const std::string& rules) {
  return std::string(kBase) + rules;
}

TEST(RulesDecisionTest, DenyRuleOverridesAllowingRole) {
  const Policy policy = MustParse(With(RuleText("no-run", "deny", R"(["jobs.run"])")));
  const Decision decision = Decide(policy, CallOf("app", "jobs.run"));
  EXPECT_EQ(Outcome(decision), "deny:no-run");
  EXPECT_EQ(decision.role, nullptr);
  EXPECT_EQ(Outcome(Decide(policy, CallOf("app", "jobs.read"))), "allow:role:reader");
  EXPECT_EQ(Outcome(Decide(policy, CallOf("ops", "jobs.run"))), "deny:no-run");
}

TEST(RulesDecisionTest, DenyRuleOverridesEarlierAllowRule) {
  const Policy policy = MustParse(
      With(RuleText("let", "allow", R"(["uc.write"])") + RuleText("stop", "deny", R"(["uc.*"])")));
  EXPECT_EQ(Outcome(Decide(policy, CallOf("app", "uc.write"))), "deny:stop");
}

TEST(RulesDecisionTest, DenyRuleOverridesGrantedRole) {
  const Policy policy = MustParse(With(RuleText("freeze", "deny", R"(["clusters.manage"])")));
  Call call = CallOf("app", "clusters.manage");
  call.granted = {"oncall"};
  call.has_grants = true;
  EXPECT_EQ(Outcome(Decide(policy, call)), "deny:freeze");
}

TEST(RulesDecisionTest, FirstDenyRuleInFileOrderNamesTheDecision) {
  // Pattern rules and literal rules are indexed apart; file order must still decide.
  const Policy policy = MustParse(
      With(RuleText("skip", "deny", R"(["jobs.run"])", "when = { \"service.env\" = \"x\" }\n") +
           RuleText("first", "deny", R"(["jobs.*"])") +
           RuleText("second", "deny", R"(["jobs.run"])") + RuleText("third", "deny", R"(["*"])")));
  EXPECT_EQ(Outcome(Decide(policy, CallOf("app", "jobs.run"))), "deny:first");
  EXPECT_EQ(Outcome(Decide(policy, CallOf("app", "sql.read"))), "deny:third");

  const Policy reversed = MustParse(With(RuleText("literal", "deny", R"(["jobs.run"])") +
                                         RuleText("pattern", "deny", R"(["jobs.*"])")));
  EXPECT_EQ(Outcome(Decide(reversed, CallOf("app", "jobs.run"))), "deny:literal");
}

TEST(RulesDecisionTest, FileOrderSpansFiles) {
  const std::string rule_b = RuleText("from-b", "deny", R"(["jobs.run"])");
  const std::string rule_a = RuleText("from-a", "deny", R"(["*"])");
  Result<Policy> policy = ParsePolicy({PolicySource{.name = "10-base.toml", .text = kBase},
                                       PolicySource{.name = "20-a.toml", .text = rule_a},
                                       PolicySource{.name = "30-b.toml", .text = rule_b}});
  ASSERT_TRUE(policy) << policy.error().message;
  EXPECT_EQ(Outcome(Decide(*policy, CallOf("app", "jobs.run"))), "deny:from-a");
  EXPECT_EQ(policy->rules[0].source, "20-a.toml:2");
}

TEST(RulesDecisionTest, RolesComeBeforeAllowRules) {
  const Policy policy = MustParse(With(RuleText("open", "allow", R"(["*"])")));
  const Decision by_role = Decide(policy, CallOf("app", "jobs.run"));
  EXPECT_EQ(Outcome(by_role), "allow:role:etl");
  ASSERT_NE(by_role.role, nullptr);
  EXPECT_EQ(by_role.role->credential, "etl-sp");

  // Nothing in app's roles allows uc.write: the allow rule does, with app's first role.
  const Decision by_rule = Decide(policy, CallOf("app", "uc.write"));
  EXPECT_EQ(Outcome(by_rule), "allow:open");
  ASSERT_NE(by_rule.role, nullptr);
  EXPECT_EQ(by_rule.role->name, "reader");
}

TEST(RulesDecisionTest, FirstApplyingAllowRuleDecides) {
  const Policy policy = MustParse(
      With(RuleText("not-me", "allow", R"(["uc.*"])", "when = { \"service.team\" = \"x\" }\n") +
           RuleText("me", "allow", R"(["uc.write"])") + RuleText("later", "allow", R"(["*"])")));
  EXPECT_EQ(Outcome(Decide(policy, CallOf("app", "uc.write"))), "allow:me");
  EXPECT_EQ(Outcome(Decide(policy, CallOf("app", "uc.credentials"))), "allow:later");
}

TEST(RulesDecisionTest, OwnRolesInOrderThenGrantedRoles) {
  const Policy policy = MustParse(kBase);
  Call call = CallOf("app", "jobs.run");
  call.granted = {"oncall", "admin"};
  call.has_grants = true;
  EXPECT_EQ(Outcome(Decide(policy, call)), "allow:role:etl");  // own role first
  call.facts.action = "clusters.manage";
  const Decision granted = Decide(policy, call);
  EXPECT_EQ(Outcome(granted), "allow:role:oncall");
  ASSERT_NE(granted.role, nullptr);
  EXPECT_EQ(granted.role->credential, "oncall-sp");
  call.facts.action = "uc.write";
  EXPECT_EQ(Outcome(Decide(policy, call)), "allow:role:admin");
  call.granted = {"no-such-role"};
  EXPECT_EQ(Outcome(Decide(policy, call)), "deny:default-deny");
  call.has_grants = false;
  call.granted = {"admin"};  // ignored: not passed
  EXPECT_EQ(Outcome(Decide(policy, call)), "deny:default-deny");
}

TEST(RulesDecisionTest, AllowRuleLendsTheFirstRoleIncludingGranted) {
  const Policy policy = MustParse(With(RuleText("open", "allow", R"(["uc.read"])")));
  Call call = CallOf("loner", "uc.read");
  call.granted = {"ghost", "oncall"};
  call.has_grants = true;
  const Decision granted = Decide(policy, call);
  EXPECT_EQ(Outcome(granted), "allow:open");
  ASSERT_NE(granted.role, nullptr);
  EXPECT_EQ(granted.role->name, "oncall");

  // With no role at all the rule still allows, with no credential (the caller must refuse).
  const Decision bare = Decide(policy, CallOf("loner", "uc.read"));
  EXPECT_EQ(Outcome(bare), "allow:open");
  EXPECT_EQ(bare.role, nullptr);
}

TEST(RulesDecisionTest, WhenConditionsMustAllHold) {
  const Policy policy = MustParse(With(
      RuleText("both", "deny", R"(["jobs.run"])",
               "when = { \"service.env\" = \"staging\", \"request.workspace\" = \"prod\" }\n")));
  EXPECT_EQ(Outcome(Decide(policy, CallOf("app", "jobs.run"))), "deny:both");
  Call dev = CallOf("app", "jobs.run");
  dev.facts.workspace = "dev";
  EXPECT_EQ(Outcome(Decide(policy, dev)), "allow:role:etl");
  EXPECT_EQ(Outcome(Decide(policy, CallOf("ops", "jobs.run"))), "allow:role:admin");
}

TEST(RulesDecisionTest, UnlessExcusesOnlyWhenAllHold) {
  const Policy policy = MustParse(With(
      RuleText("guard", "deny", R"(["jobs.run"])",
               "unless = { \"service.team\" = \"platform\", \"request.workspace\" = \"dev\" }\n")));
  struct UnlessCase {
    const char* service;
    const char* workspace;
    const char* outcome;
  };
  const std::vector<UnlessCase> cases = {
      {"ops", "dev", "allow:role:admin"},  // both hold: excused
      {"ops", "prod", "deny:guard"},       // one holds
      {"app", "dev", "deny:guard"},        // the other holds
      {"app", "prod", "deny:guard"},       // neither
  };
  for (const UnlessCase& c : cases) {
    Call call = CallOf(c.service, "jobs.run");
    call.facts.workspace = c.workspace;
    SCOPED_TRACE(std::string(c.service) + " in " + c.workspace);
    EXPECT_EQ(Outcome(Decide(policy, call)), c.outcome);
  }
}

TEST(RulesDecisionTest, WhenAndUnlessTogether) {
  const Policy policy =
      MustParse(With(RuleText("g", "allow", R"(["uc.write"])",
                              "when = { \"service.env\" = \"staging\" }\n"
                              "unless = { \"time.weekday\" = [\"sat\", \"sun\"] }\n")));
  EXPECT_EQ(Outcome(Decide(policy, CallOf("app", "uc.write"))), "allow:g");
  EXPECT_EQ(Outcome(Decide(policy, CallOf("app", "uc.write", kMonday1030 + 5 * kDay))),
            "deny:default-deny");
  EXPECT_EQ(Outcome(Decide(policy, CallOf("loner", "uc.write"))), "deny:default-deny");
}

// ---------------------------------------------------------------------------------------------
// Role limits: checked on sql.execute only.

constexpr char kLimits[] = R"([[service]]
name = "bi"
match = { uid = 3000 }
roles = ["analyst", "fallback"]

[[service]]
name = "strict"
match = { uid = 3001 }
roles = ["analyst"]

[[role]]
name = "analyst"
credential = "analyst-sp"
actions = ["sql.*", "token:sql"]
limits = { sql_row_limit_max = 1000, sql_byte_limit_max = 1048576, sql_warehouses = ["wh-1", "wh-2"] }

[[role]]
name = "fallback"
credential = "fallback-sp"
actions = ["sql.read"]
)";

Call SqlCall(const char* service, std::optional<std::int64_t> rows,
             std::optional<std::int64_t> bytes, std::optional<std::string> warehouse) {
  Call call = CallOf(service, "sql.execute");
  call.facts.row_limit = rows;
  call.facts.byte_limit = bytes;
  call.facts.warehouse = std::move(warehouse);
  return call;
}

TEST(RulesDecisionTest, RoleLimitsOnSqlExecute) {
  const Policy policy = MustParse(kLimits);
  struct LimitCase {
    std::optional<std::int64_t> rows, bytes;
    std::optional<std::string> warehouse;
    const char* outcome;
    const char* reason;  // substring of the reason
  };
  const std::vector<LimitCase> cases = {
      {1000, 1048576, "wh-1", "allow:role:analyst", "allows"},
      {1, 1, "wh-2", "allow:role:analyst", "allows"},
      {0, 0, "wh-1", "allow:role:analyst", "allows"},
      {std::nullopt, 1, "wh-1", "deny:default-deny", "requires row_limit <= 1000"},
      {1001, 1, "wh-1", "deny:default-deny", "requires row_limit <= 1000"},
      {10, std::nullopt, "wh-1", "deny:default-deny", "requires byte_limit <= 1048576"},
      {10, 1048577, "wh-1", "deny:default-deny", "requires byte_limit <= 1048576"},
      {10, 10, std::nullopt, "deny:default-deny", "does not allow this warehouse"},
      {10, 10, "wh-3", "deny:default-deny", "does not allow this warehouse"},
  };
  for (const LimitCase& c : cases) {
    SCOPED_TRACE(c.reason);
    const Decision decision = Decide(policy, SqlCall("strict", c.rows, c.bytes, c.warehouse));
    EXPECT_EQ(Outcome(decision), c.outcome);
    EXPECT_NE(decision.reason.find(c.reason), std::string::npos) << decision.reason;
  }
}

TEST(RulesDecisionTest, RoleLimitsOnlyConcernSqlExecute) {
  const Policy policy = MustParse(kLimits);
  EXPECT_EQ(Outcome(Decide(policy, CallOf("strict", "sql.read"))), "allow:role:analyst");
  EXPECT_EQ(Outcome(Decide(policy, CallOf("strict", "token:sql"))), "allow:role:analyst");
}

TEST(RulesDecisionTest, LimitedRoleIsSkippedForTheNextRole) {
  std::string text = kLimits;
  text += "\n[[role]]\nname = \"unlimited\"\ncredential = \"u-sp\"\nactions = [\"sql.execute\"]\n";
  text.replace(text.find("[\"analyst\", \"fallback\"]"), 23, "[\"analyst\", \"unlimited\"]");
  const Policy policy = MustParse(text);
  EXPECT_EQ(Outcome(Decide(policy, SqlCall("bi", std::nullopt, std::nullopt, std::nullopt))),
            "allow:role:unlimited");
  EXPECT_EQ(Outcome(Decide(policy, SqlCall("bi", 5, 5, "wh-1"))), "allow:role:analyst");
}

TEST(RulesDecisionTest, GrantedRoleLimitsApplyToo) {
  const Policy policy = MustParse(std::string(kLimits) + R"(
[[service]]
name = "guest"
match = { uid = 3002 }
)");
  Call call = SqlCall("guest", std::nullopt, 5, "wh-1");
  call.granted = {"analyst"};
  call.has_grants = true;
  EXPECT_EQ(Outcome(Decide(policy, call)), "deny:default-deny");
  call.facts.row_limit = 1000;
  EXPECT_EQ(Outcome(Decide(policy, call)), "allow:role:analyst");
}

// ---------------------------------------------------------------------------------------------
// Traces

TEST(RulesDecisionTest, TraceOfADenial) {
  const Policy policy = MustParse(With(
      RuleText("prod-only", "deny", R"(["jobs.run"])",
               "when = { \"service.env\" = \"production\" }\n") +
      RuleText("excused", "deny", R"(["jobs.*"])", "unless = { \"service.team\" = \"data\" }\n") +
      RuleText("stop", "deny", R"(["jobs.run"])", "description = \"no job runs today\"\n")));
  std::vector<TraceStep> trace;
  const Decision decision = Decide(policy, CallOf("app", "jobs.run"), &trace);
  EXPECT_EQ(Outcome(decision), "deny:stop");
  EXPECT_EQ(decision.reason, "no job runs today");
  EXPECT_EQ(TraceText(trace),
            "rule prod-only -> skipped: when service.env = \"production\" is false\n"
            "rule excused -> skipped: unless service.team = \"data\" holds\n"
            "rule stop -> applies: deny\n");
  EXPECT_EQ(Outcome(Decide(policy, CallOf("app", "jobs.run"))), Outcome(decision));
}

TEST(RulesDecisionTest, TraceOfAnAllowByRole) {
  const Policy policy = MustParse(With(RuleText("ops-only", "deny", R"(["jobs.*"])",
                                                "when = { \"service.team\" = \"platform\" }\n")));
  std::vector<TraceStep> trace;
  Call call = CallOf("app", "clusters.manage");
  call.granted = {"reader", "oncall"};
  call.has_grants = true;
  const Decision decision = Decide(policy, call, &trace);
  EXPECT_EQ(Outcome(decision), "allow:role:oncall");
  EXPECT_EQ(decision.reason, "role 'oncall' allows clusters.manage");
  EXPECT_EQ(TraceText(trace),
            "role reader -> does not list clusters.manage\n"
            "role etl -> does not list clusters.manage\n"
            "granted role oncall -> allows clusters.manage\n");
}

TEST(RulesDecisionTest, TraceOfLimitsAllowRulesAndDefault) {
  const Policy policy =
      MustParse(std::string(kLimits) + RuleText("weekend", "allow", R"(["sql.execute"])",
                                                "when = { \"time.weekday\" = \"sun\" }\n"));
  std::vector<TraceStep> trace;
  const Decision denied = Decide(policy, SqlCall("bi", 5000, 5, "wh-1"), &trace);
  EXPECT_EQ(Outcome(denied), "deny:default-deny");
  EXPECT_EQ(denied.reason, "role 'analyst' requires row_limit <= 1000");
  EXPECT_EQ(TraceText(trace),
            "role analyst -> limit: role 'analyst' requires row_limit <= 1000\n"
            "role fallback -> does not list sql.execute\n"
            "rule weekend -> skipped: when time.weekday = \"sun\" is false\n"
            "default -> nothing allows sql.execute\n");

  trace.clear();
  Call sunday = SqlCall("bi", 5000, 5, "wh-1");
  sunday.facts.now_unix = kMonday1030 + 6 * kDay;
  const Decision allowed = Decide(policy, sunday, &trace);
  EXPECT_EQ(Outcome(allowed), "allow:weekend");
  ASSERT_FALSE(trace.empty());
  EXPECT_EQ(trace.back().subject, "rule weekend");
  EXPECT_EQ(trace.back().outcome, "applies: allow");
}

// ---------------------------------------------------------------------------------------------
// The examples of docs/policy.md, written as policy.

constexpr char kReadmeServices[] = R"([[service]]
name = "billing-etl"
match = { unit = "billing-etl.service" }
attributes = { env = "production", team = "billing" }
roles = ["worker"]

[[service]]
name = "billing-staging"
match = { unit = "billing-staging.service" }
attributes = { env = "staging", team = "billing" }
roles = ["worker"]

[[service]]
name = "terraform"
match = { unit = "terraform.service" }
attributes = { env = "production", team = "platform" }
roles = ["worker"]

[[service]]
name = "reporting"
match = { unit = "reporting.service" }
attributes = { env = "production", team = "finance" }
roles = ["worker"]

[[role]]
name = "worker"
credential = "worker-sp"
actions = ["*"]
)";

TEST(RulesDecisionTest, ReadmeJobRunsOnlyFromProduction) {
  const Policy policy = MustParse(std::string(kReadmeServices) + R"(
[[rule]]
id = "jobs-run-production-only"
effect = "deny"
actions = ["jobs.run"]
unless = { "service.env" = "production" }
)");
  EXPECT_EQ(Outcome(Decide(policy, CallOf("billing-etl", "jobs.run"))), "allow:role:worker");
  EXPECT_EQ(Outcome(Decide(policy, CallOf("billing-staging", "jobs.run"))),
            "deny:jobs-run-production-only");
  EXPECT_EQ(Outcome(Decide(policy, CallOf("billing-staging", "jobs.read"))), "allow:role:worker");
}

TEST(RulesDecisionTest, ReadmeStagingSqlNeedsRowLimit) {
  const Policy policy = MustParse(std::string(kReadmeServices) + R"(
[[rule]]
id = "staging-sql-row-limit"
effect = "deny"
actions = ["sql.execute"]
when = { service = { env = "staging" } }
unless = { request = { row_limit = { le = 1000 } } }
)");
  const char* kRule = "deny:staging-sql-row-limit";
  EXPECT_EQ(Outcome(Decide(policy, SqlCall("billing-staging", std::nullopt, {}, {}))), kRule);
  EXPECT_EQ(Outcome(Decide(policy, SqlCall("billing-staging", 1001, {}, {}))), kRule);
  EXPECT_EQ(Outcome(Decide(policy, SqlCall("billing-staging", 1000, {}, {}))), "allow:role:worker");
  EXPECT_EQ(Outcome(Decide(policy, SqlCall("billing-etl", std::nullopt, {}, {}))),
            "allow:role:worker");
}

TEST(RulesDecisionTest, ReadmeClustersManageOnlyForPlatform) {
  const Policy policy = MustParse(std::string(kReadmeServices) + R"(
[[rule]]
id = "clusters-manage-platform-only"
effect = "deny"
actions = ["clusters.manage"]
unless = { "service.team" = "platform" }
)");
  EXPECT_EQ(Outcome(Decide(policy, CallOf("terraform", "clusters.manage"))), "allow:role:worker");
  for (const char* service : {"billing-etl", "billing-staging", "reporting"}) {
    EXPECT_EQ(Outcome(Decide(policy, CallOf(service, "clusters.manage"))),
              "deny:clusters-manage-platform-only")
        << service;
    EXPECT_EQ(Outcome(Decide(policy, CallOf(service, "clusters.read"))), "allow:role:worker");
  }
}

TEST(RulesDecisionTest, ReadmeOfficeHoursOnly) {
  const Policy policy = MustParse(std::string(kReadmeServices) + R"(
[[rule]]
id = "reporting-office-hours"
effect = "deny"
actions = ["*"]
when = { "service.name" = "reporting" }
unless = { "time.utc" = { between = ["08:00", "18:00"] }, "time.weekday" = ["mon", "tue", "wed", "thu", "fri"] }
)");
  const std::int64_t monday = kMonday1030 - 10 * kHour - 30 * 60;
  struct HoursCase {
    std::int64_t now;
    bool allowed;
  };
  const std::vector<HoursCase> cases = {
      {monday + 8 * kHour, true},
      {monday + 18 * kHour, true},
      {monday + 7 * kHour + 3599, false},
      {monday + 18 * kHour + 60, false},
      {monday + 4 * kDay + 12 * kHour, true},   // Friday
      {monday + 5 * kDay + 12 * kHour, false},  // Saturday
      {monday + 6 * kDay + 12 * kHour, false},  // Sunday
      {monday - 1, false},                      // Sunday 23:59:59
  };
  for (const HoursCase& c : cases) {
    SCOPED_TRACE(c.now);
    EXPECT_EQ(Outcome(Decide(policy, CallOf("reporting", "token:all-apis", c.now))),
              c.allowed ? "allow:role:worker" : "deny:reporting-office-hours");
    EXPECT_EQ(Outcome(Decide(policy, CallOf("billing-etl", "token:all-apis", c.now))),
              "allow:role:worker");
  }
}

}  // namespace
}  // namespace dbproxy
