// jwt.* conditions (claims of a verified identity token, strings or lists of strings), the
// service option require_jwt, lint of claim conditions and explain bodies carrying claims; and
// saml.* conditions (attributes of a verified SAML assertion), which work the same way.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/policy/decide.hpp"
#include "common/policy/explain_request.hpp"
#include "common/policy/policy_lint.hpp"
#include "tests/common/policy/rules_test_util.hpp"

namespace dbproxy {
namespace {

using rules_test::CallOf;
using rules_test::kMonday1030;
using rules_test::MustParse;
using rules_test::ParseError;

const JwtAttributes kAlice = {
    {"jwt.iss", ClaimValue(std::string("https://idp.example.com"))},
    {"jwt.sub", ClaimValue(std::string("alice"))},
    {"jwt.groups", ClaimValue(std::vector<std::string>{"data-eng", "oncall"})},
    {"jwt.empty", ClaimValue(std::vector<std::string>{})},
};

// A service "app" (uid 1000) and a deny rule "r" on jobs.run whose `when` is `condition`.
std::string RuleWhen(const std::string& condition) {
  return R"([[service]]
name = "app"
match = { uid = 1000 }

[[rule]]
id = "r"
effect = "deny"
actions = ["jobs.run"]
when = { )" + condition + " }\n";
}

// Whether the one `when` condition of a rule written as `condition` holds for `jwt`.
bool When(const std::string& condition, const JwtAttributes* jwt) {
  const Policy policy = MustParse(RuleWhen(condition));
  if (policy.rules.size() != 1 || policy.rules[0].when.size() != 1) {
    ADD_FAILURE() << condition;
    return false;
  }
  const CallerIdentity identity{};
  const std::vector<std::string> no_groups;
  const RequestFacts facts{.action = "jobs.run", .now_unix = kMonday1030};
  const EvalSubject subject{.service = &policy.services[0], .identity = &identity,
                            .group_names = &no_groups, .facts = &facts, .jwt = jwt,
                            .jwt_idp = "corp"};
  return EvaluateCondition(policy.rules[0].when[0], subject).value_or(false);
}

TEST(RulesJwtTest, ParsesJwtAttributes) {
  for (const char* name : {"jwt.iss", "jwt.sub", "jwt.aud", "jwt.groups", "jwt.email",
                           "jwt.https://example.com/roles"}) {
    std::optional<AttributeRef> ref = ParseAttributeRef(name);
    ASSERT_TRUE(ref.has_value()) << name;
    EXPECT_EQ(ref->kind, AttributeKind::kJwtClaim);
    EXPECT_EQ("jwt." + ref->key, name);
    EXPECT_TRUE(ref->ListValued());
    EXPECT_FALSE(ref->IntegerValued());
    EXPECT_FALSE(ref->CallLevel());
  }
  for (const char* name : {"jwt.", "jwt", "jwt.a b", "jwt.grou*", "jwt.\"x\""}) {
    EXPECT_FALSE(ParseAttributeRef(name).has_value()) << name;
  }
  EXPECT_FALSE(ParseAttributeRef("jwt." + std::string(129, 'a')).has_value());
}

TEST(RulesJwtTest, StringClaim) {
  EXPECT_TRUE(When(R"("jwt.sub" = "alice")", &kAlice));
  EXPECT_FALSE(When(R"("jwt.sub" = "bob")", &kAlice));
  EXPECT_TRUE(When(R"("jwt.sub" = ["bob", "alice"])", &kAlice));
  EXPECT_TRUE(When(R"("jwt.sub" = { ne = "bob" })", &kAlice));
  EXPECT_FALSE(When(R"("jwt.sub" = { ne = "alice" })", &kAlice));
  EXPECT_TRUE(When(R"("jwt.sub" = { glob = "al*" })", &kAlice));
  EXPECT_TRUE(When(R"("jwt.iss" = "https://idp.example.com")", &kAlice));
  EXPECT_TRUE(When(R"(jwt = { sub = "alice" })", &kAlice));  // nested form
}

TEST(RulesJwtTest, ListClaimMeansAnyElementAndNoElementForNegations) {
  EXPECT_TRUE(When(R"("jwt.groups" = "data-eng")", &kAlice));
  EXPECT_TRUE(When(R"("jwt.groups" = "oncall")", &kAlice));
  EXPECT_FALSE(When(R"("jwt.groups" = "finance")", &kAlice));
  EXPECT_TRUE(When(R"("jwt.groups" = ["finance", "oncall"])", &kAlice));
  EXPECT_FALSE(When(R"("jwt.groups" = ["finance", "hr"])", &kAlice));
  EXPECT_FALSE(When(R"("jwt.groups" = { ne = "oncall" })", &kAlice));
  EXPECT_TRUE(When(R"("jwt.groups" = { ne = "finance" })", &kAlice));
  EXPECT_FALSE(When(R"("jwt.groups" = { not_in = ["finance", "data-eng"] })", &kAlice));
  EXPECT_TRUE(When(R"("jwt.groups" = { not_in = ["finance", "hr"] })", &kAlice));
  EXPECT_TRUE(When(R"("jwt.groups" = { glob = "data-*" })", &kAlice));
  EXPECT_FALSE(When(R"("jwt.groups" = { glob = "fin*" })", &kAlice));
  EXPECT_TRUE(When(R"("jwt.groups" = { present = true })", &kAlice));
  // An empty list is present, contains nothing, and matches no negated value.
  EXPECT_TRUE(When(R"("jwt.empty" = { present = true })", &kAlice));
  EXPECT_FALSE(When(R"("jwt.empty" = "x")", &kAlice));
  EXPECT_TRUE(When(R"("jwt.empty" = { ne = "x" })", &kAlice));
}

TEST(RulesJwtTest, AbsentClaimOrNoTokenFailsAllButPresentFalseNeAndNotIn) {
  for (const JwtAttributes* jwt : {static_cast<const JwtAttributes*>(nullptr), &kAlice}) {
    const std::string claim = jwt == nullptr ? "jwt.sub" : "jwt.email";
    EXPECT_FALSE(When("\"" + claim + "\" = \"alice\"", jwt)) << claim;
    EXPECT_FALSE(When("\"" + claim + "\" = [\"alice\"]", jwt)) << claim;
    EXPECT_FALSE(When("\"" + claim + "\" = { glob = \"*\" }", jwt)) << claim;
    EXPECT_FALSE(When("\"" + claim + "\" = { present = true }", jwt)) << claim;
    EXPECT_TRUE(When("\"" + claim + "\" = { present = false }", jwt)) << claim;
    EXPECT_TRUE(When("\"" + claim + "\" = { ne = \"alice\" }", jwt)) << claim;
    EXPECT_TRUE(When("\"" + claim + "\" = { not_in = [\"alice\"] }", jwt)) << claim;
  }
}

TEST(RulesJwtTest, OrderingTestsOnClaimsAreRefused) {
  for (const char* op : {"lt = \"m\"", "le = 5", "gt = \"a\"", "ge = 1",
                         "between = [\"a\", \"z\"]"}) {
    const std::string error =
        ParseError(RuleWhen(std::string(R"("jwt.level" = { )") + op + " }"));
    EXPECT_NE(error.find("jwt.level is a token claim"), std::string::npos) << op << ": " << error;
  }
  EXPECT_NE(ParseError(R"([[rule]]
id = "r"
effect = "deny"
actions = ["jobs.run"]
when = { "jwt.a b" = "x" }
)").find("jwt.*"),
            std::string::npos);
}

constexpr char kGuarded[] = R"([[service]]
name = "app"
match = { uid = 1000 }
roles = ["runner"]
require_jwt = "corp"

[[service]]
name = "open"
match = { uid = 1001 }
roles = ["runner"]

[[role]]
name = "runner"
credential = "sp"
actions = ["jobs.*"]

[[rule]]
id = "jobs-run-data-eng"
effect = "deny"
actions = ["jobs.run"]
unless = { "jwt.groups" = "data-eng" }
)";

CallDecision DecideFor(const Policy& policy, std::int64_t uid, const JwtAttributes* jwt,
                       const std::string& idp, const std::string& action,
                       std::vector<TraceStep>* trace = nullptr) {
  CallerIdentity identity{};
  identity.uid = static_cast<uid_t>(uid);
  const DecisionSubject subject{.identity = &identity, .jwt = jwt, .jwt_idp = idp};
  const RequestFacts facts{.action = action, .workspace = "prod", .now_unix = kMonday1030};
  return Decide(policy, RuntimeView{}, subject, facts, trace);
}

TEST(RulesJwtTest, RequireJwtRefusesWithoutATokenFromThatIdp) {
  const Policy policy = MustParse(kGuarded);
  ASSERT_EQ(policy.services.size(), 2U);
  EXPECT_EQ(policy.services[0].require_jwt, "corp");
  EXPECT_EQ(policy.services[1].require_jwt, "");

  std::vector<TraceStep> trace;
  const CallDecision none = DecideFor(policy, 1000, nullptr, "", "jobs.read", &trace);
  EXPECT_FALSE(none.allow);
  EXPECT_EQ(none.rule, "require_jwt");
  EXPECT_EQ(none.error.code, Errc::kUnauthenticated);
  EXPECT_EQ(none.error.rule, "require_jwt");
  EXPECT_EQ(none.reason, "service 'app' requires a verified identity token from 'corp'");
  EXPECT_EQ(none.service_name, "app");
  EXPECT_NE(rules_test::TraceText(trace).find("require_jwt -> refused"), std::string::npos)
      << rules_test::TraceText(trace);

  const CallDecision other_idp = DecideFor(policy, 1000, &kAlice, "partner", "jobs.read");
  EXPECT_EQ(other_idp.rule, "require_jwt");
  EXPECT_EQ(other_idp.error.code, Errc::kUnauthenticated);

  const CallDecision with = DecideFor(policy, 1000, &kAlice, "corp", "jobs.read");
  EXPECT_TRUE(with.allow) << with.reason;
  EXPECT_EQ(with.rule, "role:runner");

  const CallDecision open = DecideFor(policy, 1001, nullptr, "", "jobs.read");
  EXPECT_TRUE(open.allow) << open.reason;
}

TEST(RulesJwtTest, DecideReadsClaimsOfTheSubject) {
  const Policy policy = MustParse(kGuarded);
  const JwtAttributes bob = {{"jwt.sub", ClaimValue(std::string("bob"))},
                             {"jwt.groups", ClaimValue(std::vector<std::string>{"finance"})}};
  EXPECT_TRUE(DecideFor(policy, 1000, &kAlice, "corp", "jobs.run").allow);
  const CallDecision denied = DecideFor(policy, 1000, &bob, "corp", "jobs.run");
  EXPECT_FALSE(denied.allow);
  EXPECT_EQ(denied.rule, "jobs-run-data-eng");
  EXPECT_EQ(denied.error.code, Errc::kPolicyDenied);
  // Without a token the claim is absent: the unless fails and the deny applies.
  EXPECT_EQ(DecideFor(policy, 1001, nullptr, "", "jobs.run").rule, "jobs-run-data-eng");
}

TEST(RulesJwtTest, RequireJwtMustNameAnIdp) {
  for (const char* value : {"\"\"", "\"Corp\"", "\"a b\"", "3"}) {
    const std::string error = ParseError(std::string(R"([[service]]
name = "app"
match = { uid = 1000 }
require_jwt = )") + value + "\n");
    EXPECT_NE(error.find("require_jwt"), std::string::npos) << value << ": " << error;
  }
}

TEST(RulesJwtTest, LintTreatsClaimsAsLists) {
  // Two eq values on one list claim can both hold: no never-matches.
  EXPECT_TRUE(LintPolicy(MustParse(RuleWhen(R"("jwt.groups" = { eq = "a", in = ["b"] })")))
                  .empty());
  const std::vector<LintFinding> absent =
      LintPolicy(MustParse(RuleWhen(R"("jwt.groups" = { eq = "a", present = false })")));
  ASSERT_EQ(absent.size(), 1U);
  EXPECT_EQ(absent[0].code, "never-matches");
  const std::vector<LintFinding> integer =
      LintPolicy(MustParse(RuleWhen(R"("jwt.level" = 3)")));
  ASSERT_EQ(integer.size(), 1U);
  EXPECT_EQ(integer[0].code, "type-mismatch");
}

// saml.* conditions: the attributes of a verified SAML assertion, lists of strings.
const SamlAttributes kAliceAssertion = {
    {"saml.issuer", {"https://idp.example.com/saml"}},
    {"saml.name_id", {"alice@corp.example"}},
    {"saml.groups", {"data-eng", "oncall"}},
    {"saml.http://schemas.microsoft.com/ws/2008/06/identity/claims/role", {"reader"}},
};

// Whether the one `when` condition of a rule written as `condition` holds for `saml`.
bool WhenAssertion(const std::string& condition, const SamlAttributes* saml) {
  const Policy policy = MustParse(RuleWhen(condition));
  if (policy.rules.size() != 1 || policy.rules[0].when.size() != 1) {
    ADD_FAILURE() << condition;
    return false;
  }
  const CallerIdentity identity{};
  const std::vector<std::string> no_groups;
  const RequestFacts facts{.action = "jobs.run", .now_unix = kMonday1030};
  const EvalSubject subject{.service = &policy.services[0], .identity = &identity,
                            .group_names = &no_groups, .facts = &facts, .saml = saml};
  return EvaluateCondition(policy.rules[0].when[0], subject).value_or(false);
}

TEST(RulesSamlTest, ParsesSamlAttributes) {
  for (const char* name : {"saml.issuer", "saml.name_id", "saml.groups",
                           "saml.urn:oid:1.3.6.1.4.1.5923.1.1.1.7"}) {
    std::optional<AttributeRef> ref = ParseAttributeRef(name);
    ASSERT_TRUE(ref.has_value()) << name;
    EXPECT_EQ(ref->kind, AttributeKind::kSamlAttribute);
    EXPECT_EQ("saml." + ref->key, name);
    EXPECT_TRUE(ref->ListValued());
    EXPECT_FALSE(ref->IntegerValued());
    EXPECT_FALSE(ref->CallLevel());
  }
  for (const char* name : {"saml.", "saml", "saml.a b", "saml.grou*", "samlgroups"}) {
    EXPECT_FALSE(ParseAttributeRef(name).has_value()) << name;
  }
}

TEST(RulesSamlTest, AttributesAreListsAndAbsentWithoutAnAssertion) {
  EXPECT_TRUE(WhenAssertion(R"("saml.name_id" = "alice@corp.example")", &kAliceAssertion));
  EXPECT_TRUE(WhenAssertion(R"("saml.issuer" = { glob = "https://idp.example.com/*" })",
                            &kAliceAssertion));
  EXPECT_TRUE(WhenAssertion(R"("saml.groups" = "oncall")", &kAliceAssertion));
  EXPECT_FALSE(WhenAssertion(R"("saml.groups" = { ne = "oncall" })", &kAliceAssertion));
  EXPECT_TRUE(WhenAssertion(
      R"("saml.http://schemas.microsoft.com/ws/2008/06/identity/claims/role" = "reader")",
      &kAliceAssertion));
  EXPECT_TRUE(WhenAssertion(R"(saml = { groups = ["finance", "data-eng"] })", &kAliceAssertion));
  EXPECT_FALSE(WhenAssertion(R"("saml.groups" = "data-eng")", nullptr));
  EXPECT_TRUE(WhenAssertion(R"("saml.name_id" = { present = false })", nullptr));
  EXPECT_TRUE(WhenAssertion(R"("saml.email" = { ne = "x" })", &kAliceAssertion));
  // A JWT's claims are not the assertion's attributes.
  EXPECT_FALSE(When(R"("saml.groups" = "data-eng")", &kAlice));
}

TEST(RulesSamlTest, OrderingTestsAreRefusedAndLintTreatsThemAsLists) {
  const std::string error = ParseError(RuleWhen(R"("saml.level" = { lt = "m" })"));
  EXPECT_NE(error.find("saml.level is a SAML attribute"), std::string::npos) << error;
  EXPECT_NE(ParseError(RuleWhen(R"("saml.a b" = "x")")).find("saml.*"), std::string::npos);
  EXPECT_TRUE(LintPolicy(MustParse(RuleWhen(R"("saml.groups" = { eq = "a", in = ["b"] })")))
                  .empty());
  const std::vector<LintFinding> absent =
      LintPolicy(MustParse(RuleWhen(R"("saml.groups" = { eq = "a", present = false })")));
  ASSERT_EQ(absent.size(), 1U);
  EXPECT_EQ(absent[0].code, "never-matches");
}

// kGuarded, and jobs.run only for the SAML group "oncall".
std::string GuardedWithSamlOncall() {
  return std::string(kGuarded) + R"(
[[rule]]
id = "jobs-run-saml-oncall"
effect = "deny"
actions = ["jobs.run"]
unless = { "saml.groups" = "oncall" }
)";
}

TEST(RulesSamlTest, DecideReadsTheAssertionBesideTheToken) {
  const Policy policy = MustParse(GuardedWithSamlOncall());
  CallerIdentity identity{};
  identity.uid = 1000;
  const RequestFacts facts{.action = "jobs.run", .workspace = "prod", .now_unix = kMonday1030};
  const DecisionSubject both{.identity = &identity, .jwt = &kAlice, .jwt_idp = "corp",
                             .saml = &kAliceAssertion};
  const CallDecision allowed = Decide(policy, RuntimeView{}, both, facts);
  EXPECT_TRUE(allowed.allow) << allowed.reason;
  const DecisionSubject jwt_only{.identity = &identity, .jwt = &kAlice, .jwt_idp = "corp"};
  EXPECT_EQ(Decide(policy, RuntimeView{}, jwt_only, facts).rule, "jobs-run-saml-oncall");
  // An assertion does not satisfy require_jwt.
  const DecisionSubject saml_only{.identity = &identity, .saml = &kAliceAssertion};
  EXPECT_EQ(Decide(policy, RuntimeView{}, saml_only, facts).rule, "require_jwt");
}

TEST(ExplainRequestJwtTest, ParsesIdpAndClaims) {
  Result<ExplainRequest> parsed = ParseExplainRequest(nlohmann::json::parse(R"({
      "action": "jobs.run",
      "jwt": {"idp": "corp", "claims": {"sub": "alice", "groups": ["a", "b"], "level": 3,
                                        "admin": false}}})"),
                                                      0);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->jwt_idp, "corp");
  ASSERT_TRUE(parsed->jwt.has_value());
  const JwtAttributes expected = {
      {"jwt.sub", ClaimValue(std::string("alice"))},
      {"jwt.groups", ClaimValue(std::vector<std::string>{"a", "b"})},
      {"jwt.level", ClaimValue(std::string("3"))},
      {"jwt.admin", ClaimValue(std::string("false"))}};
  EXPECT_EQ(*parsed->jwt, expected);

  Result<ExplainRequest> without =
      ParseExplainRequest(nlohmann::json::parse(R"({"action": "jobs.run"})"), 0);
  ASSERT_TRUE(without.has_value());
  EXPECT_FALSE(without->jwt.has_value());
  EXPECT_EQ(without->jwt_idp, "");

  // Explain decides with them as a request carrying the token would.
  const Policy policy = MustParse(kGuarded);
  const CallDecision decision =
      DecideFor(policy, 1000, &*parsed->jwt, parsed->jwt_idp, parsed->facts.action);
  EXPECT_EQ(decision.rule, "jobs-run-data-eng");
}

TEST(ExplainRequestJwtTest, RefusesMalformedJwt) {
  for (const char* text : {
           R"({"action":"jobs.run","jwt":"x"})",
           R"({"action":"jobs.run","jwt":{"claims":{}}})",
           R"({"action":"jobs.run","jwt":{"idp":"","claims":{}}})",
           R"({"action":"jobs.run","jwt":{"idp":"corp"}})",
           R"({"action":"jobs.run","jwt":{"idp":"corp","claims":[]}})",
           R"({"action":"jobs.run","jwt":{"idp":"corp","claims":{},"extra":1}})",
           R"({"action":"jobs.run","jwt":{"idp":"corp","claims":{"a b":"x"}}})",
           R"({"action":"jobs.run","jwt":{"idp":"corp","claims":{"o":{"x":1}}}})",
           R"({"action":"jobs.run","jwt":{"idp":"corp","claims":{"l":["a",null]}}})",
       }) {
    Result<ExplainRequest> parsed = ParseExplainRequest(nlohmann::json::parse(text), 0);
    EXPECT_FALSE(parsed.has_value()) << text;
    if (!parsed) {
      EXPECT_EQ(parsed.error().code, Errc::kInvalidRequest);
    }
  }
  nlohmann::json many = {{"action", "jobs.run"}, {"jwt", {{"idp", "corp"}, {"claims", {}}}}};
  for (std::size_t i = 0; i <= kMaxExplainClaims; ++i) {
    many["jwt"]["claims"]["c" + std::to_string(i)] = "v";
  }
  EXPECT_FALSE(ParseExplainRequest(many, 0).has_value());
}

TEST(RulesSamlTest, RequireSamlRefusesWithoutAnAssertionFromThatProvider) {
  const Policy policy = MustParse(R"([[service]]
name = "sso-app"
match = { uid = 1000 }
workspace = "prod"
roles = ["reader"]
require_saml = "corp-saml"

[[role]]
name = "reader"
credential = "etl-sp"
actions = ["jobs.read"]
)");
  ASSERT_EQ(policy.services.size(), 1U);
  EXPECT_EQ(policy.services[0].require_saml, "corp-saml");
  CallerIdentity identity{};
  identity.uid = 1000;
  const RequestFacts facts{.action = "jobs.read", .workspace = "prod", .now_unix = kMonday1030};
  std::vector<TraceStep> trace;
  const DecisionSubject none{.identity = &identity};
  const CallDecision refused = Decide(policy, RuntimeView{}, none, facts, &trace);
  EXPECT_FALSE(refused.allow);
  EXPECT_EQ(refused.rule, "require_saml");
  EXPECT_EQ(refused.error.code, Errc::kUnauthenticated);
  EXPECT_EQ(refused.error.rule, "require_saml");
  EXPECT_NE(refused.reason.find("requires a verified SAML assertion from 'corp-saml'"),
            std::string::npos)
      << refused.reason;
  ASSERT_FALSE(trace.empty());
  EXPECT_EQ(trace.back().subject, "require_saml");
  const DecisionSubject other{.identity = &identity, .saml = &kAliceAssertion,
                              .saml_idp = "partner-saml"};
  EXPECT_EQ(Decide(policy, RuntimeView{}, other, facts).rule, "require_saml");
  const DecisionSubject jwt_only{.identity = &identity, .jwt = &kAlice, .jwt_idp = "corp"};
  EXPECT_EQ(Decide(policy, RuntimeView{}, jwt_only, facts).rule, "require_saml")
      << "a JWT does not satisfy require_saml";
  const DecisionSubject with{.identity = &identity, .saml = &kAliceAssertion,
                             .saml_idp = "corp-saml"};
  const CallDecision allowed = Decide(policy, RuntimeView{}, with, facts);
  EXPECT_TRUE(allowed.allow) << allowed.reason;
  EXPECT_EQ(allowed.rule, "role:reader");

  EXPECT_NE(ParseError(R"([[service]]
name = "x"
match = { uid = 1 }
require_saml = "Corp SAML"
)").find("'require_saml' must name a [[saml_idp]]"),
            std::string::npos);
}

TEST(ExplainRequestSamlTest, ParsesAttributesAsListsAndDecidesWithThem) {
  Result<ExplainRequest> parsed = ParseExplainRequest(nlohmann::json::parse(R"({
      "action": "jobs.run", "uid": 1000,
      "jwt": {"idp": "corp", "claims": {"sub": "alice", "groups": ["data-eng"]}},
      "saml": {"idp": "corp-saml", "attributes": {
               "issuer": "https://idp.example.com/saml", "name_id": "alice@corp.example",
               "groups": ["data-eng", "oncall"],
               "http://schemas.microsoft.com/ws/2008/06/identity/claims/role": "reader"}}})"),
                                                      0);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  ASSERT_TRUE(parsed->saml.has_value());
  EXPECT_EQ(*parsed->saml, kAliceAssertion);
  EXPECT_EQ(parsed->saml_idp, "corp-saml");
  EXPECT_FALSE(ParseExplainRequest(nlohmann::json::parse(R"({"action":"jobs.run"})"), 0)
                   ->saml.has_value());

  // Explain decides with the assertion as a request presenting it would.
  const Policy policy = MustParse(GuardedWithSamlOncall());
  CallerIdentity identity{};
  identity.uid = 1000;
  const RequestFacts& facts = parsed->facts;
  const DecisionSubject with{.identity = &identity, .jwt = &*parsed->jwt,
                             .jwt_idp = parsed->jwt_idp, .saml = &*parsed->saml,
                             .saml_idp = parsed->saml_idp};
  EXPECT_TRUE(Decide(policy, RuntimeView{}, with, facts).allow);
  const DecisionSubject without{.identity = &identity, .jwt = &*parsed->jwt,
                                .jwt_idp = parsed->jwt_idp};
  EXPECT_EQ(Decide(policy, RuntimeView{}, without, facts).rule, "jobs-run-saml-oncall");
}

TEST(ExplainRequestSamlTest, RefusesMalformedSaml) {
  for (const char* text : {
           R"({"action":"jobs.run","saml":"x"})",
           R"({"action":"jobs.run","saml":["issuer"]})",
           R"({"action":"jobs.run","saml":{"attributes":{}}})",
           R"({"action":"jobs.run","saml":{"idp":"","attributes":{}}})",
           R"({"action":"jobs.run","saml":{"idp":"s"}})",
           R"({"action":"jobs.run","saml":{"idp":"s","attributes":[]}})",
           R"({"action":"jobs.run","saml":{"idp":"s","attributes":{},"x":1}})",
           R"({"action":"jobs.run","saml":{"idp":"s","attributes":{"a b":"x"}}})",
           R"({"action":"jobs.run","saml":{"idp":"s","attributes":{"":"x"}}})",
           R"({"action":"jobs.run","saml":{"idp":"s","attributes":{"level":3}}})",
           R"({"action":"jobs.run","saml":{"idp":"s","attributes":{"groups":["a",null]}}})",
           R"({"action":"jobs.run","saml":{"idp":"s","attributes":{"o":{"x":"y"}}}})",
       }) {
    Result<ExplainRequest> parsed = ParseExplainRequest(nlohmann::json::parse(text), 0);
    EXPECT_FALSE(parsed.has_value()) << text;
    if (!parsed) {
      EXPECT_EQ(parsed.error().code, Errc::kInvalidRequest);
      EXPECT_NE(parsed.error().message.find("'saml"), std::string::npos)
          << parsed.error().message;
    }
  }
  nlohmann::json many = {{"action", "jobs.run"},
                         {"saml", {{"idp", "s"}, {"attributes", nlohmann::json::object()}}}};
  for (std::size_t i = 0; i <= kMaxExplainClaims; ++i) {
    many["saml"]["attributes"]["a" + std::to_string(i)] = "v";
  }
  EXPECT_FALSE(ParseExplainRequest(many, 0).has_value());
  nlohmann::json long_list = {
      {"action", "jobs.run"},
      {"saml", {{"idp", "s"}, {"attributes", {{"groups", nlohmann::json::array()}}}}}};
  for (std::size_t i = 0; i <= kMaxExplainClaimValues; ++i) {
    long_list["saml"]["attributes"]["groups"].push_back("g");
  }
  EXPECT_FALSE(ParseExplainRequest(long_list, 0).has_value());
}

}  // namespace
}  // namespace dbproxy
