#include "common/policy/policy_lint.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dbproxy {
namespace {

Policy MustParseForLint(const std::string& text) {
  Result<Policy> policy = ParsePolicy({PolicySource{.name = "10-test.toml", .text = text}});
  if (!policy) {
    ADD_FAILURE() << policy.error().message << "\nin:\n" << text;
    return {};
  }
  return std::move(policy).value();
}

std::string Codes(const std::vector<LintFinding>& findings) {
  std::string codes;
  for (const LintFinding& f : findings) codes += (codes.empty() ? "" : " ") + f.code;
  return codes;
}

// A service "app" using role "r" (which allows everything).
constexpr char kLintBase[] = R"([[service]]
name = "app"
match = { unit = "app.service" }
attributes = { env = "production", team = "data" }
roles = ["r"]

[[role]]
name = "r"
credential = "c"
actions = ["token:all-apis", "jobs.*"]
)";

std::string Rule(const std::string& id, const std::string& effect, const std::string& actions,
                 const std::string& extra = "") {
  return "\n[[rule]]\nid = \"" + id + "\"\neffect = \"" + effect + "\"\nactions = " + actions +
         "\n" + extra;
}

std::vector<LintFinding> Lint(const std::string& text) { return LintPolicy(MustParseForLint(text)); }

TEST(PolicyLintTest, CleanPolicyHasNoFindings) {
  const std::string text =
      std::string(kLintBase) +
      Rule("no-run-in-staging", "deny", R"(["jobs.run"])",
           "when = { \"service.env\" = \"staging\" }\n") +
      Rule("sql-small", "allow", R"(["sql.execute"])",
           "when = { \"request.row_limit\" = { le = 1000, ge = 1 } }\n") +
      Rule("office-hours", "deny", R"(["jobs.manage"])",
           "unless = { \"time.utc\" = { between = [\"08:00\", \"18:00\"] } }\n");
  const std::vector<LintFinding> findings = Lint(text);
  EXPECT_TRUE(findings.empty()) << Codes(findings) << ": " << findings[0].message;
}

TEST(PolicyLintTest, OverlappingServicesOfEqualSpecificity) {
  const std::string text = std::string(kLintBase) + R"(
[[service]]
name = "by-uid"
match = { unit = "app.service", uid = 1000 }
roles = ["r"]

[[service]]
name = "by-group"
match = { unit = "app.service", group = "etl" }
roles = ["r"]

[[service]]
name = "other-unit"
match = { unit = "other.service", uid = 1000 }
roles = ["r"]
)";
  const std::vector<LintFinding> findings = Lint(text);
  ASSERT_EQ(findings.size(), 1u) << Codes(findings);
  EXPECT_EQ(findings[0].code, "overlapping-services");
  EXPECT_EQ(findings[0].severity, "warning");
  EXPECT_EQ(findings[0].source, "10-test.toml:17");
  EXPECT_NE(findings[0].message.find("'by-group'"), std::string::npos);
  EXPECT_NE(findings[0].message.find("'by-uid'"), std::string::npos);
}

TEST(PolicyLintTest, DifferentGroupsCanStillOverlap) {
  const std::string text = std::string(kLintBase) + R"(
[[service]]
name = "a"
match = { unit = "x.service", gid = 10 }
roles = ["r"]

[[service]]
name = "b"
match = { unit = "x.service", gid = 20 }
roles = ["r"]
)";
  EXPECT_EQ(Codes(Lint(text)), "overlapping-services");
}

TEST(PolicyLintTest, UnusedRole) {
  const std::string text =
      std::string(kLintBase) +
      "\n[[role]]\nname = \"spare\"\ncredential = \"c\"\nactions = [\"*\"]\n";
  const std::vector<LintFinding> findings = Lint(text);
  ASSERT_EQ(findings.size(), 1u) << Codes(findings);
  EXPECT_EQ(findings[0].code, "unused-role");
  EXPECT_EQ(findings[0].severity, "warning");
  EXPECT_EQ(findings[0].source, "10-test.toml:12");
}

struct NeverCase {
  const char* name;
  const char* conditions;  // the `when` table of a deny rule on jobs.run
};

TEST(PolicyLintTest, NeverMatchesOnContradictions) {
  const std::vector<NeverCase> cases = {
      {"two eq", R"({ "request.workspace" = { eq = "a" }, request = { workspace = "b" } })"},
      {"eq outside in", R"({ "request.workspace" = { eq = "a", in = ["b", "c"] } })"},
      {"disjoint in", R"({ "request.workspace" = { in = ["a"], not_in = ["a"] } })"},
      {"bounds", R"({ "request.row_limit" = { gt = 10, lt = 5 } })"},
      {"open integer bounds", R"({ "request.row_limit" = { gt = 5, lt = 6 } })"},
      {"string bounds", R"({ "time.utc" = { ge = "18:00", lt = "09:00" } })"},
      {"eq outside bound", R"({ "request.row_limit" = { eq = 50, le = 10 } })"},
      {"present false", R"({ "request.warehouse" = { present = false, eq = "w" } })"},
      {"action", R"({ "request.action" = "sql.execute" })"},
      {"named service lacks value",
       R"({ "service.name" = "app", "service.env" = "staging" })"},
  };
  for (const NeverCase& c : cases) {
    const std::string text =
        std::string(kLintBase) + Rule("x", "deny", R"(["jobs.run"])",
                                  std::string("when = ") + c.conditions + "\n");
    const std::vector<LintFinding> findings = Lint(text);
    ASSERT_EQ(findings.size(), 1u) << c.name << ": " << Codes(findings);
    EXPECT_EQ(findings[0].code, "never-matches") << c.name;
    EXPECT_EQ(findings[0].severity, "error") << c.name;
    EXPECT_EQ(findings[0].source, "10-test.toml:12") << c.name;
  }
}

TEST(PolicyLintTest, SatisfiableConditionsAreNotReported) {
  const std::vector<NeverCase> cases = {
      {"eq inside in", R"({ "request.workspace" = { eq = "a", in = ["a", "b"] } })"},
      {"touching bounds", R"({ "request.row_limit" = { ge = 5, le = 5 } })"},
      {"present false and ne", R"({ "request.warehouse" = { present = false, ne = "w" } })"},
      {"wrapping between", R"({ "time.utc" = { between = ["22:00", "06:00"] } })"},
      {"service of another host", R"({ "service.name" = "elsewhere", "service.env" = "x" })"},
      {"named service has value", R"({ "service.name" = "app", "service.env" = "production" })"},
      {"action in list", R"({ "request.action" = ["sql.execute", "jobs.run"] })"},
  };
  for (const NeverCase& c : cases) {
    const std::string text =
        std::string(kLintBase) + Rule("x", "deny", R"(["jobs.run"])",
                                  std::string("when = ") + c.conditions + "\n");
    EXPECT_EQ(Codes(Lint(text)), "") << c.name;
  }
}

TEST(PolicyLintTest, NeverMatchesWhenEveryNamedServiceIsExcused) {
  const std::string text =
      std::string(kLintBase) + Rule("x", "deny", R"(["jobs.run"])",
                                "when = { \"service.name\" = \"app\" }\n"
                                "unless = { \"service.team\" = \"data\" }\n");
  EXPECT_EQ(Codes(Lint(text)), "never-matches");
}

TEST(PolicyLintTest, ShadowedByEarlierUnconditionalRule) {
  const std::string text = std::string(kLintBase) + Rule("all-jobs", "deny", R"(["jobs.*"])") +
                           Rule("run", "deny", R"(["jobs.run", "jobs.r*"])",
                                "when = { \"service.env\" = \"production\" }\n");
  const std::vector<LintFinding> findings = Lint(text);
  ASSERT_EQ(findings.size(), 1u) << Codes(findings);
  EXPECT_EQ(findings[0].code, "shadowed");
  EXPECT_EQ(findings[0].severity, "warning");
  EXPECT_NE(findings[0].message.find("'all-jobs'"), std::string::npos);
}

TEST(PolicyLintTest, AllowShadowedByDenyInAnyPosition) {
  const std::string text = std::string(kLintBase) + Rule("sql", "allow", R"(["sql.read"])") +
                           Rule("no-sql", "deny", R"(["sql.*"])");
  EXPECT_EQ(Codes(Lint(text)), "shadowed");
}

TEST(PolicyLintTest, DuplicateDenyRuleIsShadowed) {
  const std::string when = "when = { \"service.env\" = \"production\" }\n";
  const std::string text = std::string(kLintBase) + Rule("a", "deny", R"(["jobs.run"])", when) +
                           Rule("b", "deny", R"(["jobs.run"])", when);
  const std::vector<LintFinding> findings = Lint(text);
  ASSERT_EQ(findings.size(), 1u) << Codes(findings);
  EXPECT_EQ(findings[0].code, "shadowed");
  EXPECT_NE(findings[0].message.find("identical"), std::string::npos);
}

TEST(PolicyLintTest, PartialCoverIsNotShadowing) {
  const std::string text = std::string(kLintBase) + Rule("run", "deny", R"(["jobs.run"])") +
                           Rule("jobs", "deny", R"(["jobs.*"])") +
                           Rule("tokens", "allow", R"(["token:*"])") +
                           Rule("sql-token", "deny", R"(["token:sql"])") +
                           Rule("everything", "allow", R"(["*"])");
  EXPECT_EQ(Codes(Lint(text)), "sensitive-by-pattern");
}

TEST(PolicyLintTest, TypeMismatchInWhenOrUnless) {
  struct Case {
    const char* table;
    const char* conditions;
    bool reported;
  };
  const std::vector<Case> cases = {
      {"when", R"({ "request.row_limit" = "1000" })", true},
      {"unless", R"({ "request.row_limit" = { le = "1000" } })", true},
      {"unless", R"({ "request.num_workers" = { between = ["1", "9"] } })", true},
      {"when", R"({ "caller.uid" = ["1000", "1001"] })", true},
      {"when", R"({ "request.node_type" = 5 })", true},
      {"when", R"({ "service.env" = 1 })", true},
      {"when", R"({ "request.row_limit" = { glob = "1*" } })", true},
      {"when", R"({ "time.utc" = { gt = "10:00", lt = 5 } })", true},  // also never-matches
      {"when", R"({ "request.row_limit" = ["1", 2] })", false},  // 2 can match
      {"when", R"({ "request.row_limit" = { ne = "x" } })", false},
      {"when", R"({ "request.row_limit" = { not_in = ["x"] } })", false},
      {"when", R"({ "request.row_limit" = { present = true } })", false},
      {"when", R"({ "request.num_workers" = { le = 8 } })", false},
      {"when", R"({ "request.disposition" = "EXTERNAL_LINKS" })", false},
      {"when", R"({ "request.job_id" = ["1", "2"] })", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.conditions);
    const std::string text = std::string(kLintBase) +
                             Rule("x", "deny", R"(["sql.execute"])",
                                  std::string(c.table) + " = " + c.conditions + "\n");
    const std::vector<LintFinding> findings = Lint(text);
    const bool reported = !findings.empty() && findings[0].code == "type-mismatch";
    EXPECT_EQ(reported, c.reported) << Codes(findings);
    if (reported) {
      EXPECT_EQ(findings[0].severity, "error");
      EXPECT_NE(findings[0].message.find("can never hold"), std::string::npos);
    }
  }
}

TEST(PolicyLintTest, SensitiveActionsByPattern) {
  const std::string role = "\n[[role]]\nname = \"wide\"\ncredential = \"c\"\nactions = ";
  const std::string service =
      "\n[[service]]\nname = \"w\"\nmatch = { unit = \"w.service\" }\nroles = [\"wide\"]\n";
  std::vector<LintFinding> findings = Lint(std::string(kLintBase) + service + role + R"(["*"])");
  ASSERT_EQ(Codes(findings), "sensitive-by-pattern");
  EXPECT_EQ(findings[0].severity, "warning");
  EXPECT_NE(findings[0].message.find("tokens.manage, secrets.read, secrets.manage, "
                                     "uc.credentials, permissions.manage, commands.execute"),
            std::string::npos)
      << findings[0].message;
  findings = Lint(std::string(kLintBase) + service + role +
                  R"(["secrets.*", "secrets.read", "uc.*", "jobs.*"])");
  ASSERT_EQ(Codes(findings), "sensitive-by-pattern sensitive-by-pattern");
  EXPECT_NE(findings[0].message.find("'secrets.*' also allows secrets.manage;"),
            std::string::npos)
      << findings[0].message;
  EXPECT_NE(findings[1].message.find("'uc.*' also allows uc.credentials;"), std::string::npos);
  // Named explicitly, or in a deny rule: nothing to say.
  EXPECT_EQ(Codes(Lint(std::string(kLintBase) + service + role + R"(["uc.*", "uc.credentials"])")),
            "");
  EXPECT_EQ(Codes(Lint(std::string(kLintBase) + role + R"(["*"])")), "unused-role");
  EXPECT_EQ(Codes(Lint(std::string(kLintBase) + Rule("no", "deny", R"(["*"])",
                                                  "when = { \"service.env\" = \"x\" }\n"))),
            "");
}

TEST(PolicyLintTest, PatternMatchesNothing) {
  // ParsePolicy rejects unknown actions, so build the policy directly.
  Policy policy = MustParseForLint(kLintBase);
  policy.rules.push_back(dbproxy::Rule{.id = "odd",
                                       .effect = RuleEffect::kDeny,
                                       .actions = {"jobz.*", "token:x*"},
                                       .when = {},
                                       .unless = {},
                                       .description = {},
                                       .source = "20-odd.toml:3"});
  const std::vector<LintFinding> findings = LintPolicy(policy);
  ASSERT_EQ(findings.size(), 1u) << Codes(findings);
  EXPECT_EQ(findings[0].code, "pattern-matches-nothing");
  EXPECT_EQ(findings[0].severity, "error");
  EXPECT_EQ(findings[0].source, "20-odd.toml:3");
  EXPECT_NE(findings[0].message.find("'jobz.*'"), std::string::npos);
}

TEST(PolicyLintTest, IdentityRequirementsNamingNoConfiguredProvider) {
  const Policy policy = MustParseForLint(R"([[service]]
name = "sso"
match = { uid = 1000 }
roles = ["r"]
require_jwt = "corp"
require_saml = "corp-saml"

[[service]]
name = "plain"
match = { uid = 1001 }
roles = ["r"]

[[role]]
name = "r"
credential = "c"
actions = ["token:all-apis"]
)");
  EXPECT_TRUE(LintPolicy(policy).empty()) << "the policy alone cannot tell";
  EXPECT_TRUE(
      LintIdentityRequirements(policy, {.idps = {"corp"}, .saml_idps = {"corp-saml"}}).empty());
  const std::vector<LintFinding> none = LintIdentityRequirements(policy, {});
  ASSERT_EQ(none.size(), 2u) << Codes(none);
  EXPECT_EQ(none[0].code, "unknown-identity-provider");
  EXPECT_EQ(none[0].severity, "warning");
  EXPECT_EQ(none[0].source, "10-test.toml:1");
  EXPECT_NE(none[0].message.find("require_jwt = \"corp\""), std::string::npos) << none[0].message;
  EXPECT_NE(none[1].message.find("no [[saml_idp]] 'corp-saml'"), std::string::npos)
      << none[1].message;
  // A [[saml_idp]] of that name does not satisfy require_jwt.
  const std::vector<LintFinding> crossed =
      LintIdentityRequirements(policy, {.idps = {"corp-saml"}, .saml_idps = {"corp"}});
  EXPECT_EQ(crossed.size(), 2u) << Codes(crossed);
}

}  // namespace
}  // namespace dbproxy
