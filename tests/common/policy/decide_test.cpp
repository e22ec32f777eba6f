// Decide: the one decision path of token requests, proxied calls and explain. Table of cases
// (unidentified, each maintenance scope, granted role, deny rule, raw-token bypass, no
// credential, shadow) and explain's JSON facts against the proxy's body facts.
#include "common/policy/decide.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/calls/classify.hpp"
#include "common/calls/request_body.hpp"
#include "common/policy/explain_request.hpp"
#include "tests/common/policy/rules_test_util.hpp"

namespace dbproxy {
namespace {

using rules_test::kMonday1030;
using rules_test::MustParse;

constexpr char kPolicy[] = R"([[service]]
name = "app"
match = { uid = 1000 }
workspace = "prod"
roles = ["reader"]

[[service]]
name = "nocred"
match = { uid = 1001 }
workspace = "prod"

[[service]]
name = "limited"
match = { uid = 1002 }
workspace = "prod"
roles = ["analyst"]

[[role]]
name = "reader"
credential = "ro-sp"
actions = ["clusters.read", "token:all-apis"]

[[role]]
name = "oncall"
credential = "oncall-sp"
actions = ["jobs.*"]

[[role]]
name = "analyst"
credential = "an-sp"
actions = ["sql.*", "token:all-apis"]
limits = { sql_row_limit_max = 100, sql_row_limit_clamp = true }

[[rule]]
id = "no-jobs-run"
effect = "deny"
actions = ["jobs.run"]
when = { "service.name" = "app" }

[[rule]]
id = "nocred-clusters"
effect = "allow"
actions = ["clusters.read"]
when = { "service.name" = "nocred" }
)";

struct DecideCase {
  const char* name;
  uid_t uid;
  const char* action;
  const char* outcome;  // "allow:<rule>" or "deny:<rule>"
  Errc code = Errc::kInternal;  // on deny
  const char* credential = "";
  const char* maintenance_scope = "";  // switch this scope on first ("service", ...)
  const char* maintenance_target = "";
  bool grant_oncall = false;
};

class DecideTest : public ::testing::Test {
 protected:
  CallDecision Run(const Policy& policy, uid_t uid, const std::string& action,
                   std::vector<TraceStep>* trace = nullptr) {
    identity_.uid = uid;
    identity_.gid = uid;
    const RequestFacts facts{.action = action, .now_unix = kMonday1030};
    return Decide(policy, RuntimeView{.grants = &grants_, .maintenance = &maintenance_},
                  DecisionSubject{.identity = &identity_}, facts, trace);
  }

  Policy policy_ = MustParse(kPolicy);
  GrantSet grants_;
  MaintenanceSet maintenance_;
  CallerIdentity identity_{};
};

std::string Outcome(const CallDecision& decision) {
  return (decision.allow ? "allow:" : "deny:") + decision.rule;
}

TEST_F(DecideTest, Table) {
  const std::vector<DecideCase> cases = {
      {"unidentified", 4000, "clusters.read", "deny:unidentified", Errc::kUnidentified},
      {"role allows", 1000, "clusters.read", "allow:role:reader", Errc::kInternal, "ro-sp"},
      {"global maintenance", 1000, "clusters.read", "deny:maintenance:global",
       Errc::kMaintenance, "", "global"},
      {"service maintenance", 1000, "clusters.read", "deny:maintenance:service:app",
       Errc::kMaintenance, "", "service", "app"},
      {"workspace maintenance", 1000, "clusters.read", "deny:maintenance:workspace:prod",
       Errc::kMaintenance, "", "workspace", "prod"},
      {"other service's maintenance", 1000, "clusters.read", "allow:role:reader",
       Errc::kInternal, "ro-sp", "service", "limited"},
      {"not granted", 1000, "jobs.read", "deny:default-deny", Errc::kPolicyDenied},
      {"granted role", 1000, "jobs.read", "allow:role:oncall", Errc::kInternal, "oncall-sp",
       "", "", true},
      {"deny rule beats a grant", 1000, "jobs.run", "deny:no-jobs-run", Errc::kPolicyDenied,
       "", "", "", true},
      {"raw token bypasses a limit", 1002, "token:all-apis", "deny:role:analyst",
       Errc::kPolicyDenied},
      {"raw token bypasses a deny rule", 1000, "token:all-apis", "deny:no-jobs-run",
       Errc::kPolicyDenied},
      {"allow rule, no credential", 1001, "clusters.read", "deny:nocred-clusters",
       Errc::kPolicyDenied},
  };
  for (const DecideCase& c : cases) {
    SCOPED_TRACE(c.name);
    grants_ = GrantSet();
    maintenance_ = MaintenanceSet();
    if (c.grant_oncall) {
      ASSERT_TRUE(grants_
                      .Add({.service = "app", .role = "oncall", .reason = "", .granted_by = "op",
                            .granted_at = 0, .expires_at = 0})
                      .ok());
    }
    if (*c.maintenance_scope != '\0') {
      ASSERT_TRUE(maintenance_
                      .Set({.scope = *ParseScope(c.maintenance_scope),
                            .target = c.maintenance_target, .reason = "", .set_by = "op",
                            .since = 0, .until = 0})
                      .ok());
    }
    const CallDecision decision = Run(policy_, c.uid, c.action);
    EXPECT_EQ(Outcome(decision), c.outcome) << decision.reason;
    EXPECT_EQ(decision.credential, c.credential);
    if (!decision.allow) {
      EXPECT_EQ(decision.error.code, c.code) << decision.error.message;
      EXPECT_EQ(decision.reason, decision.error.message);
      if (c.code != Errc::kUnidentified) {
        EXPECT_EQ(decision.error.rule, decision.rule);
      }
    }
  }
}

TEST_F(DecideTest, MaintenanceErrorCarriesRetryAfterAndTheSwitchedOffService) {
  ASSERT_TRUE(maintenance_
                  .Set({.scope = MaintenanceScope::kService, .target = "app", .reason = "INC-7",
                        .set_by = "op", .since = kMonday1030 - 10, .until = kMonday1030 + 90})
                  .ok());
  const CallDecision decision = Run(policy_, 1000, "clusters.read");
  EXPECT_EQ(decision.error.retry_after_seconds, 90);
  EXPECT_NE(decision.reason.find("INC-7"), std::string::npos) << decision.reason;
  EXPECT_EQ(decision.service_name, "app");
  EXPECT_EQ(decision.workspace, "prod") << "the service's default workspace";
}

TEST_F(DecideTest, RawTokenBypassNamesWhatItWouldBypass) {
  std::vector<TraceStep> trace;
  const CallDecision decision = Run(policy_, 1002, "token:all-apis", &trace);
  EXPECT_EQ(decision.bypassed, "role:analyst");
  EXPECT_NE(decision.reason.find("use proxy mode"), std::string::npos) << decision.reason;
  ASSERT_FALSE(trace.empty());
  EXPECT_EQ(trace.back().subject, "raw token");
}

TEST_F(DecideTest, NoCredentialIsADenialWithTheAllowingRule) {
  const CallDecision decision = Run(policy_, 1001, "clusters.read");
  EXPECT_FALSE(decision.allow);
  EXPECT_NE(decision.reason.find("no role with a credential"), std::string::npos);
  EXPECT_TRUE(decision.credential.empty());
}

TEST_F(DecideTest, ShadowIsTheSameFunctionOnAnotherPolicy) {
  const Policy shadow = MustParse(std::string(kPolicy) +
                                  "\n[[rule]]\nid = \"shadow-no-clusters\"\neffect = \"deny\"\n"
                                  "actions = [\"clusters.read\"]\n");
  EXPECT_EQ(Outcome(Run(policy_, 1000, "clusters.read")), "allow:role:reader");
  EXPECT_EQ(Outcome(Run(shadow, 1000, "clusters.read")), "deny:shadow-no-clusters");
}

TEST_F(DecideTest, NamedServiceNeedsNoMatchAndUnknownNameIsNotFound) {
  const RequestFacts facts{.action = "clusters.read", .now_unix = kMonday1030};
  identity_.uid = 4000;  // matches nothing
  const RuntimeView runtime{};
  const CallDecision named = Decide(
      policy_, runtime, DecisionSubject{.identity = &identity_, .service_name = "app"}, facts);
  EXPECT_EQ(Outcome(named), "allow:role:reader");
  EXPECT_EQ(named.matched_by, "named in the request");
  const CallDecision unknown = Decide(
      policy_, runtime, DecisionSubject{.identity = &identity_, .service_name = "nope"}, facts);
  EXPECT_EQ(unknown.error.code, Errc::kNotFound);
}

// What a proxied statement submission decides and what explain says for the same facts.
TEST_F(DecideTest, ExplainFactsDecideLikeTheProxiedCall) {
  const std::string body =
      R"({"statement":"SELECT 1","warehouse_id":"wh-1","row_limit":5000,"disposition":"INLINE"})";
  Result<Classification> call = ClassifyCall("POST", "/api/2.0/sql/statements");
  ASSERT_TRUE(call.has_value());
  Result<BodyFacts> body_facts = InspectBody(*call, body);
  ASSERT_TRUE(body_facts.has_value());
  RequestFacts proxied{.action = call->action, .workspace = "prod", .method = "POST",
                       .path = call->normalized_path, .now_unix = kMonday1030};
  AddToRequestFacts(*body_facts, proxied);

  const nlohmann::json explain = {
      {"method", "POST"},      {"path", "/api/2.0/sql/statements"}, {"warehouse", "wh-1"},
      {"row_limit", 5000},     {"disposition", "INLINE"},           {"statement_bytes", 8},
      {"time", kMonday1030}};
  Result<ExplainRequest> parsed = ParseExplainRequest(explain, 0);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;

  identity_.uid = 1002;
  const RuntimeView runtime{.grants = &grants_, .maintenance = &maintenance_};
  const DecisionSubject subject{.identity = &identity_};
  const CallDecision real = Decide(policy_, runtime, subject, proxied);
  const CallDecision explained = Decide(policy_, runtime, subject, parsed->facts);
  EXPECT_EQ(Outcome(real), "allow:role:analyst");
  EXPECT_EQ(real.clamps, std::vector<std::string>{"row_limit=100"});
  EXPECT_EQ(Outcome(explained), Outcome(real));
  EXPECT_EQ(explained.reason, real.reason);
  EXPECT_EQ(explained.credential, real.credential);
  EXPECT_EQ(explained.clamps, real.clamps);
  EXPECT_EQ(explained.workspace, real.workspace);
}

TEST(ExplainRequestTest, RefusesUnknownFieldsWrongTypesAndMissingAction) {
  for (const char* text :
       {R"({"action":"jobs.run","color":"red"})", R"({"action":"jobs.run","row_limit":"5"})",
        R"({"action":"jobs.run","num_workers":-1})", R"({"workspace":"prod"})",
        R"({"action":"jobs.run","job_id":"12a"})"}) {
    Result<ExplainRequest> parsed = ParseExplainRequest(nlohmann::json::parse(text), 0);
    EXPECT_FALSE(parsed.has_value()) << text;
  }
  Result<ExplainRequest> job = ParseExplainRequest(
      nlohmann::json::parse(R"({"action":"jobs.run","job_id":"012","num_workers":4})"), 7);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(job->facts.job_id, "12");
  EXPECT_EQ(job->facts.num_workers, 4);
  EXPECT_EQ(job->facts.now_unix, 7);
}

TEST(ExplainRequestTest, ReadsTheQueryOfAPathAsTheProxyDoes) {
  Result<ExplainRequest> secret = ParseExplainRequest(
      nlohmann::json::parse(R"({"method":"GET","path":"/api/2.0/secrets/get?scope=etl&key=db"})"),
      0);
  ASSERT_TRUE(secret.has_value()) << secret.error().message;
  EXPECT_EQ(secret->facts.action, "secrets.read");
  EXPECT_EQ(secret->facts.secret_scope, "etl");
  EXPECT_EQ(secret->facts.secret_key, "db");
  Result<ExplainRequest> file = ParseExplainRequest(
      nlohmann::json::parse(R"({"method":"GET","path":"/api/2.0/fs/files/Volumes/a/b%20c"})"), 0);
  ASSERT_TRUE(file.has_value()) << file.error().message;
  EXPECT_EQ(file->facts.target_path, "/Volumes/a/b c");
  Result<ExplainRequest> job = ParseExplainRequest(
      nlohmann::json::parse(R"({"method":"GET","path":"/api/2.1/jobs/get?job_id=07"})"), 0);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(job->facts.job_id, "7");
  Result<ExplainRequest> given = ParseExplainRequest(
      nlohmann::json::parse(R"({"action":"workspace.read","target_path":"/Shared/etl/x"})"), 0);
  ASSERT_TRUE(given.has_value()) << given.error().message;
  EXPECT_EQ(given->facts.target_path, "/Shared/etl/x");
  EXPECT_FALSE(ParseExplainRequest(
                   nlohmann::json::parse(
                       R"({"method":"GET","path":"/api/2.0/workspace/export?path=/a/../b"})"),
                   0)
                   .has_value());
}

}  // namespace
}  // namespace dbproxy
