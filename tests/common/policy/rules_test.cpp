// Conditions of [[rule]] tables: every operator, every attribute, time, syntax and parse errors.
// Each condition is checked end to end: parsed from TOML into a deny rule "probe" and evaluated.
#include "common/policy/rules.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
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
using rules_test::kDay;
using rules_test::kMonday1030;
using rules_test::MustParse;
using rules_test::ParseError;

// "svc" has every attribute the probes look at; "bare" has none of the optional ones.
constexpr char kRuleServices[] = R"([[service]]
name = "svc"
match = { uid = 1000 }
attributes = { env = "production", team = "platform", tier = "gold" }

[[service]]
name = "bare"
match = { uid = 2000 }
)";

std::string ProbePolicy(const std::string& when) {
  return std::string(kRuleServices) +
         "\n[[rule]]\nid = \"probe\"\neffect = \"deny\"\nactions = [\"*\"]\nwhen = { " + when +
         " }\n";
}

// Whether the `when` table holds for `call`: the probe rule then denies.
bool Holds(const std::string& when, const Call& call) {
  const Policy policy = MustParse(ProbePolicy(when));
  if (policy.services.empty()) return false;
  return Decide(policy, call).rule == "probe";
}

Call FullCall(std::int64_t now = kMonday1030) {
  Call call = CallOf("svc", "sql.execute", now);
  call.identity = CallerIdentity{.pid = 10,
                                 .uid = 1000,
                                 .gid = 100,
                                 .groups = {},
                                 .user = "alice",
                                 .group = "staff",
                                 .exe = "/usr/bin/python3",
                                 .unit = "etl.service",
                                 .cgroup = "/system.slice/etl.service"};
  call.facts.method = "POST";
  call.facts.path = "/api/2.0/sql/statements";
  call.facts.warehouse = "wh-1";
  call.facts.row_limit = 500;
  call.facts.byte_limit = 1048576;
  call.facts.statement_bytes = 120;
  call.facts.job_id = "42";
  return call;
}

// Every optional fact absent: no attributes, no names, a token request.
Call BareCall() {
  Call call = CallOf("bare", "sql.execute");
  call.identity.uid = 2000;
  call.identity.gid = 200;
  call.facts.workspace = "dev";
  return call;
}

struct ProbeCase {
  const char* when;
  bool on_full;  // holds for FullCall()
  bool on_bare;  // holds for BareCall()
};

void CheckProbes(const std::vector<ProbeCase>& cases) {
  const Call full = FullCall();
  const Call bare = BareCall();
  for (const ProbeCase& probe : cases) {
    SCOPED_TRACE(probe.when);
    EXPECT_EQ(Holds(probe.when, full), probe.on_full) << "full subject";
    EXPECT_EQ(Holds(probe.when, bare), probe.on_bare) << "bare subject";
  }
}

TEST(RulesTest, EqualityAndInequality) {
  CheckProbes({
      {R"("service.env" = "production")", true, false},
      {R"("service.env" = { eq = "production" })", true, false},
      {R"("service.env" = { eq = "staging" })", false, false},
      {R"("caller.uid" = 1000)", true, false},
      {R"("service.env" = { ne = "staging" })", true, true},
      {R"("service.env" = { ne = "production" })", false, true},
      {R"("caller.uid" = { ne = 1000 })", false, true},
  });
}

TEST(RulesTest, Ordering) {
  CheckProbes({
      {R"("request.row_limit" = { lt = 500 })", false, false},
      {R"("request.row_limit" = { lt = 501 })", true, false},
      {R"("request.row_limit" = { le = 500 })", true, false},
      {R"("request.row_limit" = { le = 499 })", false, false},
      {R"("request.row_limit" = { gt = 499 })", true, false},
      {R"("request.row_limit" = { gt = 500 })", false, false},
      {R"("request.row_limit" = { ge = 500 })", true, false},
      {R"("request.row_limit" = { ge = 501 })", false, false},
      {R"("caller.uid" = { lt = 1001 })", true, false},
      {R"("caller.uid" = { ge = 2000 })", false, true},
      // Strings order bytewise.
      {R"("request.warehouse" = { lt = "wh-2" })", true, false},
      {R"("caller.user" = { ge = "alice" })", true, false},
      {R"("caller.user" = { gt = "alice" })", false, false},
      {R"("caller.user" = { le = "b" })", true, false},
  });
}

TEST(RulesTest, Membership) {
  CheckProbes({
      {R"("service.team" = ["platform", "sre"])", true, false},
      {R"("service.team" = { in = ["data"] })", false, false},
      {R"("caller.uid" = [1000, 1001])", true, false},
      {R"("caller.uid" = { in = [] })", false, false},
      {R"("service.team" = { not_in = ["data"] })", true, true},
      {R"("service.team" = { not_in = ["platform"] })", false, true},
      {R"("caller.uid" = { not_in = [] })", true, true},
      {R"("caller.uid" = { not_in = [1000, 2000] })", false, false},
  });
}

TEST(RulesTest, BetweenIsInclusive) {
  CheckProbes({
      {R"("request.row_limit" = { between = [100, 500] })", true, false},
      {R"("request.row_limit" = { between = [500, 900] })", true, false},
      {R"("request.row_limit" = { between = [501, 900] })", false, false},
      {R"("request.row_limit" = { between = [1, 499] })", false, false},
      {R"("request.row_limit" = { between = [500, 500] })", true, false},
      {R"("caller.user" = { between = ["a", "b"] })", true, false},
      {R"("caller.uid" = { between = [1500, 2500] })", false, true},
  });
}

TEST(RulesTest, PresentAndGlob) {
  CheckProbes({
      {R"("service.env" = { present = true })", true, false},
      {R"("service.env" = { present = false })", false, true},
      {R"("request.row_limit" = { present = true })", true, false},
      {R"("request.row_limit" = { present = false })", false, true},
      {R"("caller.uid" = { present = false })", false, false},  // always known
      {R"("request.action" = { present = true })", true, true},
      {R"("caller.exe" = { glob = "/usr/bin/*" })", true, false},
      {R"("request.path" = { glob = "/api/2.0/sql/*" })", true, false},
      {R"("service.env" = { glob = "prod*" })", true, false},
      {R"("service.env" = { glob = "*duct*" })", true, false},
      {R"("caller.unit" = { glob = "*.timer" })", false, false},
      {R"("service.name" = { glob = "*" })", true, true},
      {R"("caller.exe" = { glob = "*" })", true, false},  // absent is not even the empty string
  });
}

TEST(RulesTest, StringsAndIntegersNeverCompare) {
  CheckProbes({
      {R"("caller.uid" = "1000")", false, false},
      {R"("caller.uid" = ["1000"])", false, false},
      {R"("request.row_limit" = { eq = "500" })", false, false},
      {R"("request.row_limit" = { le = "1000" })", false, false},
      {R"("request.row_limit" = { ge = "0" })", false, false},
      {R"("request.row_limit" = { lt = "9" })", false, false},
      {R"("request.row_limit" = { gt = "0" })", false, false},
      {R"("request.row_limit" = { between = ["0", "9"] })", false, false},
      {R"("caller.user" = { lt = 5 })", false, false},
      {R"("caller.user" = { ge = 0 })", false, false},
      {R"("request.job_id" = 42)", false, false},
      {R"("caller.uid" = { glob = "1*" })", false, false},
      // Never equal, so `ne` and `not_in` hold.
      {R"("caller.uid" = { ne = "1000" })", true, true},
      {R"("caller.uid" = { not_in = ["1000"] })", true, true},
  });
}

TEST(RulesTest, AbsentAttributeFailsEveryTestButNeNotInAndPresentFalse) {
  const Call bare = BareCall();
  const std::vector<std::string> absent = {"service.env",
                                           "caller.user",
                                           "caller.group",
                                           "caller.unit",
                                           "caller.exe",
                                           "request.method",
                                           "request.path",
                                           "request.warehouse",
                                           "request.row_limit",
                                           "request.byte_limit",
                                           "request.statement_bytes",
                                           "request.job_id"};
  struct OpCase {
    const char* test;
    bool holds;
  };
  const std::vector<OpCase> ops = {
      {"{ eq = \"x\" }", false},
      {"{ eq = 1 }", false},
      {"{ ne = \"x\" }", true},
      {"{ ne = 1 }", true},
      {"{ lt = \"zzz\" }", false},
      {"{ lt = 9999999999 }", false},
      {"{ le = \"zzz\" }", false},
      {"{ le = 9999999999 }", false},
      {"{ gt = \"\" }", false},
      {"{ gt = -9999999999 }", false},
      {"{ ge = \"\" }", false},
      {"{ ge = -9999999999 }", false},
      {"{ in = [\"x\", 1] }", false},
      {"{ not_in = [\"x\", 1] }", true},
      {"{ between = [\"\", \"~\"] }", false},
      {"{ between = [-1, 9999999999] }", false},
      {"{ glob = \"*\" }", false},
      {"{ present = true }", false},
      {"{ present = false }", true},
  };
  for (const std::string& attribute : absent) {
    for (const OpCase& op : ops) {
      const std::string when = "\"" + attribute + "\" = " + op.test;
      SCOPED_TRACE(when);
      EXPECT_EQ(Holds(when, bare), op.holds);
    }
  }
}

TEST(RulesTest, EveryAttributeFamily) {
  CheckProbes({
      {R"("service.name" = "svc")", true, false},
      {R"("service.name" = "bare")", false, true},
      {R"("service.tier" = "gold")", true, false},
      {R"("caller.uid" = 2000)", false, true},
      {R"("caller.gid" = 100)", true, false},
      {R"("caller.gid" = 200)", false, true},
      {R"("caller.user" = "alice")", true, false},
      {R"("caller.group" = "staff")", true, false},
      {R"("caller.unit" = "etl.service")", true, false},
      {R"("caller.exe" = "/usr/bin/python3")", true, false},
      {R"("request.action" = "sql.execute")", true, true},
      {R"("request.action" = { glob = "sql.*" })", true, true},
      {R"("request.workspace" = "prod")", true, false},
      {R"("request.workspace" = "dev")", false, true},
      {R"("request.method" = "POST")", true, false},
      {R"("request.path" = "/api/2.0/sql/statements")", true, false},
      {R"("request.warehouse" = "wh-1")", true, false},
      {R"("request.row_limit" = 500)", true, false},
      {R"("request.byte_limit" = 1048576)", true, false},
      {R"("request.statement_bytes" = { le = 120 })", true, false},
      {R"("request.job_id" = "42")", true, false},
      {R"("time.utc" = "10:30")", true, true},
      {R"("time.weekday" = "mon")", true, true},
  });
}

TEST(RulesTest, CallerGroupIsThePrimaryGroupName) {
  Call call = FullCall();
  call.identity.groups = {300};
  call.group_names = {"wheel"};
  EXPECT_TRUE(Holds(R"("caller.group" = "staff")", call));
  EXPECT_FALSE(Holds(R"("caller.group" = "wheel")", call));
}

TEST(RulesTest, TimeOfDayIsUtcMinutes) {
  const std::int64_t midnight = kMonday1030 - 10 * 3600 - 30 * 60;
  const std::string office = R"("time.utc" = { between = ["08:00", "18:00"] })";
  const std::string night = R"("time.utc" = { between = ["22:00", "06:00"] })";
  struct TimeCase {
    int hour, minute, second;
    bool in_office, at_night;
  };
  const std::vector<TimeCase> cases = {
      {0, 0, 0, false, true},    {2, 0, 0, false, true},   {5, 59, 59, false, true},
      {6, 0, 0, false, true},    {6, 0, 59, false, true},  {6, 1, 0, false, false},
      {7, 59, 59, false, false}, {8, 0, 0, true, false},   {12, 0, 0, true, false},
      {18, 0, 0, true, false},   {18, 0, 59, true, false}, {18, 1, 0, false, false},
      {21, 59, 0, false, false}, {22, 0, 0, false, true},  {23, 59, 59, false, true},
  };
  for (const TimeCase& c : cases) {
    const std::int64_t now = midnight + c.hour * 3600 + c.minute * 60 + c.second;
    SCOPED_TRACE(std::to_string(c.hour) + ":" + std::to_string(c.minute) + ":" +
                 std::to_string(c.second));
    EXPECT_EQ(Holds(office, FullCall(now)), c.in_office);
    EXPECT_EQ(Holds(night, FullCall(now)), c.at_night);
  }
  char hhmm[8];
  std::snprintf(hhmm, sizeof hhmm, "%02d:%02d", 9, 5);
  EXPECT_TRUE(Holds(std::string("\"time.utc\" = \"") + hhmm + "\"",
                    FullCall(midnight + 9 * 3600 + 5 * 60 + 7)));
  EXPECT_TRUE(Holds(R"("time.utc" = { lt = "09:00" })", FullCall(midnight + 8 * 3600)));
}

TEST(RulesTest, WeekdayIsUtc) {
  const std::vector<std::string> days = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  for (std::size_t i = 0; i < days.size(); ++i) {
    const std::int64_t now = kMonday1030 + static_cast<std::int64_t>(i) * kDay;
    SCOPED_TRACE(days[i]);
    EXPECT_TRUE(Holds("\"time.weekday\" = \"" + days[i] + "\"", FullCall(now)));
    EXPECT_FALSE(Holds("\"time.weekday\" = \"" + days[(i + 1) % 7] + "\"", FullCall(now)));
  }
  // 23:59:59 UTC on Monday is still Monday; one second later it is Tuesday.
  const std::int64_t last_second = kMonday1030 + 13 * 3600 + 29 * 60 + 59;
  EXPECT_TRUE(Holds(R"("time.weekday" = "mon")", FullCall(last_second)));
  EXPECT_TRUE(Holds(R"("time.weekday" = "tue")", FullCall(last_second + 1)));
  EXPECT_TRUE(Holds(R"("time.weekday" = ["sat", "sun"])", FullCall(kMonday1030 - kDay)));
}

TEST(RulesTest, AllWhenConditionsMustHold) {
  CheckProbes({
      {R"("service.env" = "production", "caller.uid" = 1000)", true, false},
      {R"("service.env" = "production", "caller.uid" = 2000)", false, false},
      {R"("request.row_limit" = { ge = 100, le = 1000 })", true, false},
      {R"("request.row_limit" = { ge = 600, le = 1000 })", false, false},
      {R"("service.env" = { ne = "x" }, "request.row_limit" = { present = false })", false, true},
  });
}

TEST(RulesTest, NestedTablesAndQuotedDottedKeysAreTheSame) {
  CheckProbes({
      {R"(service = { env = "production" })", true, false},
      {R"(service = { env = "production", team = ["platform"] })", true, false},
      {R"(request = { row_limit = { le = 1000 }, warehouse = "wh-1" })", true, false},
      {R"(time = { utc = { between = ["08:00", "18:00"] }, weekday = "mon" })", true, true},
      {R"(caller = { uid = 1000 }, "service.env" = "production")", true, false},
      {R"(caller = { uid = 1000 }, "service.env" = "staging")", false, false},
  });
}

TEST(RulesTest, ConditionSubTablesWithDottedKeys) {
  const Policy policy = MustParse(std::string(kRuleServices) + R"(
[[rule]]
id = "probe"
effect = "deny"
actions = ["*"]
[rule.when]
service.env = "production"
"request.row_limit" = { le = 1000 }
[rule.unless]
caller.uid = 2000
)");
  ASSERT_EQ(policy.rules.size(), 1u);
  EXPECT_EQ(policy.rules[0].when.size(), 2u);
  EXPECT_EQ(policy.rules[0].unless.size(), 1u);
  EXPECT_EQ(Decide(policy, FullCall()).rule, "probe");
  Call big = FullCall();
  big.facts.row_limit = 1001;
  EXPECT_EQ(Decide(policy, big).rule, "default-deny");
}

TEST(RulesTest, ParsedConditionsKeepTheirText) {
  const Policy policy = MustParse(ProbePolicy(
      R"("service.env" = "production", "request.row_limit" = { le = 1000 }, "caller.uid" = [1, 2])"));
  ASSERT_EQ(policy.rules.size(), 1u);
  std::vector<std::string> texts;
  for (const Condition& condition : policy.rules[0].when)
    texts.push_back(condition.text);
  std::sort(texts.begin(), texts.end());
  EXPECT_EQ(texts, (std::vector<std::string>{"caller.uid in 1 2", "request.row_limit le 1000",
                                             "service.env = \"production\""}));
}

// ---------------------------------------------------------------------------------------------
// Parse errors: each names the file and line of the offending value.

struct ErrorCase {
  const char* when;
  const char* message;  // expected substring after "50-rules.toml:5: "
};

std::string RuleWithWhen(const std::string& when) {
  return "[[rule]]\nid = \"bad\"\neffect = \"deny\"\nactions = [\"*\"]\nwhen = { " + when + " }\n";
}

TEST(RulesTest, ConditionErrorsNameFileAndLine) {
  const std::vector<ErrorCase> cases = {
      {R"("caller.shell" = "bash")", "unknown attribute 'caller.shell'"},
      {R"("request.rows" = 1)", "unknown attribute 'request.rows'"},
      {R"("time.local" = "10:00")", "unknown attribute 'time.local'"},
      {R"(env = "production")", "unknown attribute 'env'"},
      {R"("service.*" = "x")", "unknown attribute 'service.*'"},
      {R"(request = { row_limt = 5 })", "unknown attribute 'request.row_limt'"},
      {R"("request.row_limit" = { lte = 1000 })", "unknown operator 'lte' in the condition on 'request.row_limit'"},
      {R"("request.row_limit" = { le = 1000, max = 5 })", "unknown operator 'max'"},
      {R"("request.row_limit" = { between = [1] })", "'between' takes [low, high] of one type"},
      {R"("request.row_limit" = { between = [1, 2, 3] })", "'between' takes [low, high]"},
      {R"("request.row_limit" = { between = [1, "2"] })", "'between' takes [low, high]"},
      {R"("request.row_limit" = { between = 5 })", "takes an array"},
      {R"("service.env" = { in = "production" })", "takes an array"},
      {R"("service.env" = { not_in = "production" })", "takes an array"},
      {R"("service.env" = { present = 1 })", "'present' takes true or false"},
      {R"("service.env" = { present = "yes" })", "'present' takes true or false"},
      {R"("caller.exe" = { glob = 5 })", "'glob' takes a string pattern"},
      {R"("service.env" = true)", "condition values must be strings or integers"},
      {R"("request.row_limit" = { le = 1.5 })", "condition values must be strings or integers"},
      {R"("service.team" = ["a", true])", "condition values must be strings or integers"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.when);
    const std::string error = ParseError(RuleWithWhen(c.when));
    EXPECT_NE(error.find("50-rules.toml:5: "), std::string::npos) << error;
    EXPECT_NE(error.find(c.message), std::string::npos) << error;
  }
}

// BUG: an unknown operator under a service.<attribute> is read as a condition on the attribute
// "<attribute>.<operator>" (never present), so `{ equals = "x" }` is silently accepted.
TEST(RulesTest, UnknownOperatorOnServiceAttributeIsAnError) {
  const std::string error = ParseError(RuleWithWhen(R"("service.env" = { equals = "x" })"));
  EXPECT_NE(error.find("50-rules.toml:5: "), std::string::npos) << error;
  EXPECT_NE(error.find("equals"), std::string::npos) << error;
}

// BUG: an empty table as a condition value yields no condition at all, so the rule applies
// unconditionally (an allow rule then allows everyone).
TEST(RulesTest, EmptyConditionTableIsAnError) {
  const std::string error = ParseError(RuleWithWhen(R"("service.team" = {})"));
  EXPECT_NE(error.find("50-rules.toml:5: "), std::string::npos) << error;
}

TEST(RulesTest, RuleErrorsNameFileAndLine) {
  struct RuleErrorCase {
    const char* text;
    const char* message;
  };
  const std::vector<RuleErrorCase> cases = {
      {"[[rule]]\neffect = \"deny\"\nactions = [\"*\"]\n", ":1: rule: missing required key 'id'"},
      {"[[rule]]\nid = \"has space\"\neffect = \"deny\"\nactions = [\"*\"]\n",
       ":2: rule: invalid rule id"},
      {"[[rule]]\nid = \"r\"\neffect = \"permit\"\nactions = [\"*\"]\n",
       ":3: rule 'r': effect must be \"allow\" or \"deny\""},
      {"[[rule]]\nid = \"r\"\neffect = \"deny\"\nactions = [\"jobs.delete\"]\n",
       ":4: rule 'r': unknown action 'jobs.delete'"},
      {"[[rule]]\nid = \"r\"\neffect = \"deny\"\nactions = [\"*\"]\nwhen = \"always\"\n",
       ":5: rule 'r': 'when' must be a table"},
      {"[[rule]]\nid = \"r\"\neffect = \"deny\"\nactions = [\"*\"]\nunles = {}\n",
       ":5: rule 'r': unknown key 'unles'"},
      {"[[rule]]\nid = \"r\"\neffect = \"deny\"\n", ":1: rule 'r': missing required key 'actions'"},
  };
  for (const RuleErrorCase& c : cases) {
    SCOPED_TRACE(c.text);
    const std::string error = ParseError(c.text);
    EXPECT_NE(error.find(std::string("50-rules.toml") + c.message), std::string::npos) << error;
  }
}

TEST(RulesTest, DuplicateRuleIdIsAnError) {
  const std::string rule = "[[rule]]\nid = \"dup\"\neffect = \"deny\"\nactions = [\"*\"]\n";
  const std::string error = ParseError(rule + "\n" + rule);
  EXPECT_NE(error.find("50-rules.toml:6: duplicate rule 'dup'"), std::string::npos) << error;

  Result<Policy> across = ParsePolicy({PolicySource{.name = "10-a.toml", .text = rule},
                                       PolicySource{.name = "20-b.toml", .text = rule}});
  ASSERT_FALSE(across);
  EXPECT_NE(across.error().message.find("20-b.toml:1: duplicate rule 'dup'"), std::string::npos)
      << across.error().message;
}

TEST(RulesTest, EveryErrorIsReportedAtOnce) {
  const std::string error =
      ParseError(RuleWithWhen(R"("caller.shell" = "x", "service.env" = { present = 1 })") +
                 "unless = { \"request.rows\" = 1 }\n");
  EXPECT_NE(error.find(":5: rule 'bad': unknown attribute 'caller.shell'"), std::string::npos)
      << error;
  EXPECT_NE(error.find(":5: rule 'bad': 'present' takes true or false"), std::string::npos)
      << error;
  EXPECT_NE(error.find(":6: rule 'bad': unknown attribute 'request.rows'"), std::string::npos)
      << error;
}

TEST(RulesTest, ParseAttributeRefKnowsCallLevelFacts) {
  struct RefCase {
    const char* name;
    bool known;
    bool call_level;
  };
  const std::vector<RefCase> cases = {
      {"service.name", true, false},
      {"service.env", true, false},
      {"service.a.b", true, false},
      {"service.", false, false},
      {"caller.uid", true, false},
      {"caller.exe", true, false},
      {"caller.pid", false, false},
      {"request.action", true, false},
      {"request.workspace", true, false},
      {"request.method", true, true},
      {"request.path", true, true},
      {"request.warehouse", true, true},
      {"request.row_limit", true, true},
      {"request.byte_limit", true, true},
      {"request.statement_bytes", true, true},
      {"request.job_id", true, true},
      {"time.utc", true, false},
      {"time.weekday", true, false},
      {"time", false, false},
      {"", false, false},
  };
  for (const RefCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::optional<AttributeRef> ref = ParseAttributeRef(c.name);
    ASSERT_EQ(ref.has_value(), c.known);
    if (ref) {
      EXPECT_EQ(ref->CallLevel(), c.call_level);
      EXPECT_EQ(ref->name, c.name);
    }
  }
  EXPECT_EQ(ParseAttributeRef("service.tier")->key, "tier");
  EXPECT_EQ(ParseAttributeRef("service.name")->kind, AttributeKind::kServiceName);
}

}  // namespace
}  // namespace dbproxy
