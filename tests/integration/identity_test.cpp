// Caller identity tokens end to end: the fake workspace's OIDC identity provider signs JWTs, a
// real dbproxyd verifies them ([[idp]] "corp") on agent.sock and in proxy mode, rules read
// jwt.* claims, a require_jwt service needs one, the audit names the token's subject, and
// dbproxyctl idp list / test report what the agent holds.
//
// Callers: the test process (root) is service "root-tests"; uid kStrangerUid is "corp-only",
// which requires a token from "corp".
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/harness/runtime_fixture.hpp"

namespace dbproxy::testing {
namespace {

constexpr char kAudience[] = "dbproxy-itest";

std::string IdentityPolicy() {
  return std::string(
             "[[service]]\n"
             "name = \"root-tests\"\n"
             "match = { uid = 0 }\n"
             "workspace = \"") +
         kWorkspace + "\"\nroles = [\"etl\"]\n\n" +
         "[[service]]\n"
         "name = \"corp-only\"\n"
         "match = { uid = " +
         std::to_string(kStrangerUid) + " }\n" + "workspace = \"" + kWorkspace +
         "\"\nroles = [\"etl\"]\nrequire_jwt = \"corp\"\n\n" +
         "[[role]]\n"
         "name = \"etl\"\n"
         "credential = \"" +
         kCredential + "\"\n" + "actions = [\"token:all-apis\", \"token:sql\", \"scim.me\"]\n\n" +
         "[[rule]]\n"
         "id = \"sql-for-data-eng\"\n"
         "effect = \"deny\"\n"
         "actions = [\"token:sql\"]\n"
         "unless = { \"jwt.groups\" = \"data-eng\" }\n";
}

class IdentityTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    agent_->options().policy = IdentityPolicy();
    agent_->options().extra_toml = "[[idp]]\nname = \"corp\"\nissuer = \"" + Issuer() +
                                   "\"\naudience = \"" + kAudience + "\"\nclaims = [\"groups\"]\n";
    agent_->WriteConfig();
  }

  std::string Issuer() const { return fake_->url() + "/idp"; }

  // A token of the fake IdP; `extra` is merged into the mint request.
  std::string Mint(const std::string& sub, const nlohmann::json& extra = nlohmann::json::object()) {
    nlohmann::json request = {{"sub", sub}, {"aud", kAudience}};
    request.update(extra);
    const HttpResponse minted = fake_->Control("POST", "/_fake/idp/token", request.dump());
    EXPECT_EQ(minted.status, 200) << minted.Describe();
    return minted.Json().value("token", "");
  }

  HttpResponse TokenWith(const std::string& jwt, const std::string& body = "{}") {
    UnixHttpClient client = agent_->Client();
    return client.Request(
        "POST", "/v1/token", body,
        {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + jwt}});
  }

  nlohmann::json AuditOf(const HttpResponse& response) {
    return WaitForAuditRecord(agent_->audit_file(), response.Header("x-request-id"));
  }

  // Neither the agent's log nor its audit trail ever holds `jwt`.
  void ExpectNotWritten(const std::string& jwt) {
    ASSERT_FALSE(jwt.empty());
    EXPECT_EQ(ReadFile(agent_->audit_file()).find(jwt), std::string::npos);
    EXPECT_EQ(agent_->Stderr().find(jwt), std::string::npos);
  }
};

TEST_F(IdentityTest, AVerifiedTokenNamesTheUserInTheAuditAndWhoami) {
  ASSERT_TRUE(StartAndEnroll().ok());
  const std::string jwt = Mint("alice@corp.example", {{"claims", {{"groups", {"data-eng"}}}}});
  const HttpResponse token = TokenWith(jwt);
  ASSERT_EQ(token.status, 200) << token.Describe();
  const nlohmann::json record = AuditOf(token);
  EXPECT_EQ(record.value("service", ""), "root-tests");
  EXPECT_EQ(record.value("jwt_idp", ""), "corp");
  EXPECT_EQ(record.value("jwt_iss", ""), Issuer());
  EXPECT_EQ(record.value("jwt_sub", ""), "alice@corp.example");
  EXPECT_EQ(record.value("uid", -1), 0) << "the kernel identity stays in the record";

  UnixHttpClient client = agent_->Client();
  const HttpResponse whoami =
      client.Request("GET", "/v1/whoami", "", {{"Authorization", "Bearer " + jwt}});
  ASSERT_EQ(whoami.status, 200) << whoami.Describe();
  EXPECT_EQ(whoami.Json()["jwt"]["sub"], "alice@corp.example");
  EXPECT_EQ(whoami.Json()["jwt"]["attributes"]["jwt.groups"], nlohmann::json({"data-eng"}));
  ExpectNotWritten(jwt);
}

TEST_F(IdentityTest, RulesReadTheTokensClaims) {
  ASSERT_TRUE(StartAndEnroll().ok());
  const std::string member = Mint("alice", {{"claims", {{"groups", {"data-eng", "x"}}}}});
  const std::string other = Mint("bob", {{"claims", {{"groups", {"finance"}}}}});
  EXPECT_EQ(TokenWith(member, R"({"scope":"sql"})").status, 200);
  const HttpResponse denied = TokenWith(other, R"({"scope":"sql"})");
  EXPECT_EQ(denied.status, 403) << denied.Describe();
  EXPECT_EQ(denied.Json()["error"].value("rule", ""), "sql-for-data-eng");
  UnixHttpClient client = agent_->Client();
  const HttpResponse no_token = client.Post("/v1/token", R"({"scope":"sql"})");
  EXPECT_EQ(no_token.status, 403) << "an unless on an absent claim denies";
  EXPECT_EQ(TokenWith(other, R"({"scope":"all-apis"})").status, 200) << "other actions unaffected";
}

TEST_F(IdentityTest, ARequireJwtServiceNeedsATokenFromItsIdp) {
  ASSERT_TRUE(StartAndEnroll().ok());
  const Identity corp_user = UserIdentity(kStrangerUid, kStrangerUid);
  const HttpResponse without =
      RequestAs(corp_user, agent_->socket(), "POST", "/v1/token", R"({"scope":"all-apis"})");
  EXPECT_EQ(without.status, 401) << without.Describe();
  EXPECT_EQ(ErrorCode(without), "identity_required");
  const std::string jwt = Mint("svc-nightly");
  const HttpResponse with =
      RequestAs(corp_user, agent_->socket(), "POST", "/v1/token", R"({"scope":"all-apis"})",
                {{"Authorization", "Bearer " + jwt}});
  ASSERT_EQ(with.status, 200) << with.Describe();
  const nlohmann::json record = AuditOf(with);
  EXPECT_EQ(record.value("service", ""), "corp-only");
  EXPECT_EQ(record.value("uid", -1), static_cast<int>(kStrangerUid));
  EXPECT_EQ(record.value("jwt_sub", ""), "svc-nightly");
}

TEST_F(IdentityTest, RefusedTokensAre401WithTheReasonAndNeverRecorded) {
  ASSERT_TRUE(StartAndEnroll().ok());
  struct Case {
    std::string name;
    std::string jwt;
    std::string reason_part;
  };
  const std::vector<Case> cases = {
      {"expired", Mint("a", {{"expires_in", -120}}), "expired"},
      {"not yet valid", Mint("a", {{"not_before_in", 600}}), "not valid before"},
      {"wrong audience", Mint("a", {{"aud", "someone-else"}}), "audience"},
      {"unknown issuer", Mint("a", {{"iss", "https://other.example/idp"}}),
       "issuer not configured"},
      {"not a jwt", "abc.def", "malformed"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const HttpResponse refused = TokenWith(c.jwt);
    EXPECT_EQ(refused.status, 401) << refused.Describe();
    EXPECT_EQ(ErrorCode(refused), "invalid_identity");
    EXPECT_NE(ErrorMessage(refused).find(c.reason_part), std::string::npos) << refused.body;
    const nlohmann::json record = AuditOf(refused);
    EXPECT_EQ(record.value("decision", ""), "deny");
    EXPECT_EQ(record.value("rule", ""), "invalid_identity");
    EXPECT_EQ(record.value("error", ""), "invalid_identity");
    EXPECT_NE(record.value("jwt_error", "").find(c.reason_part), std::string::npos) << record;
    EXPECT_FALSE(record.contains("jwt_sub"));
    ExpectNotWritten(c.jwt);
  }
}

TEST_F(IdentityTest, CachedKeysOutliveTheIdpAndNoKeysAtAllIs503) {
  ASSERT_TRUE(StartAndEnroll().ok());
  const std::string jwt = Mint("alice");
  ASSERT_EQ(TokenWith(jwt).status, 200);  // keys fetched and cached
  ASSERT_EQ(fake_->Control("POST", "/_fake/idp/jwks", R"({"down":true})").status, 200);
  EXPECT_EQ(TokenWith(jwt).status, 200) << "cached keys still verify";

  // A fresh agent that never fetched the keys: 503 until the provider is back.
  agent_->Stop();
  ASSERT_TRUE(agent_->Start().ok());
  const HttpResponse unavailable = TokenWith(jwt);
  EXPECT_EQ(unavailable.status, 503) << unavailable.Describe();
  EXPECT_EQ(ErrorCode(unavailable), "identity_unavailable");
  ASSERT_EQ(fake_->Control("POST", "/_fake/idp/jwks", R"({"down":false})").status, 200);
  // Without cached keys a failed fetch is retried after kJwksRetrySeconds (5 s).
  EXPECT_TRUE(WaitFor([&] { return TokenWith(jwt).status == 200; }, std::chrono::seconds(12),
                      std::chrono::milliseconds(500)));
}

TEST_F(IdentityTest, ProxyModeReadsTheIdentityHeaderOrAnIdpBearerAndForwardsNeither) {
  ASSERT_TRUE(StartAndEnroll().ok());
  const std::string jwt = Mint("alice");
  UnixHttpClient client = agent_->Client();
  // The fake answers /Me only for a token it issued: a forwarded JWT would be a 401.
  const HttpResponse by_header = client.Request("GET", kMePath, "", {{"X-Dbproxy-Identity", jwt}});
  ASSERT_EQ(by_header.status, 200) << by_header.Describe();
  EXPECT_EQ(AuditOf(by_header).value("jwt_sub", ""), "alice");
  const HttpResponse by_bearer =
      client.Request("GET", kMePath, "", {{"Authorization", "Bearer " + jwt}});
  ASSERT_EQ(by_bearer.status, 200) << by_bearer.Describe();
  EXPECT_EQ(AuditOf(by_bearer).value("jwt_sub", ""), "alice");
  // A bearer that is not a JWT of a configured issuer is the caller's workspace token: replaced,
  // not read.
  const HttpResponse pat =
      client.Request("GET", kMePath, "", {{"Authorization", "Bearer dapi0123456789"}});
  EXPECT_EQ(pat.status, 200) << pat.Describe();
  EXPECT_FALSE(AuditOf(pat).contains("jwt_sub"));

  const int calls_before = fake_->Counters().value("api_requests", 0);
  const HttpResponse bad =
      client.Request("GET", kMePath, "", {{"X-Dbproxy-Identity", Mint("a", {{"aud", "x"}})}});
  EXPECT_EQ(bad.status, 401) << bad.Describe();
  EXPECT_EQ(bad.Json()["error"].value("code", ""), "invalid_identity") << bad.body;
  EXPECT_EQ(fake_->Counters().value("api_requests", 0), calls_before) << "refused before the call";
  ExpectNotWritten(jwt);
}

TEST_F(IdentityTest, CtlListsTheIdpsAndTestsATokenOffline) {
  ASSERT_TRUE(StartAndEnroll().ok());
  const std::string jwt = Mint("alice", {{"claims", {{"groups", {"data-eng"}}}}});
  ASSERT_EQ(TokenWith(jwt).status, 200);
  Ctl ctl = MakeCtl();
  const CtlResult list = ctl.Run({"idp", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.Describe();
  EXPECT_NE(list.out.find("corp"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(Issuer() + "/jwks (discovery)"), std::string::npos) << list.out;

  const CtlResult verified = ctl.Run({"idp", "test", "-"}, jwt + "\n");
  ASSERT_EQ(verified.exit_code, 0) << verified.Describe();
  EXPECT_NE(verified.out.find("alice"), std::string::npos) << verified.out;
  EXPECT_NE(verified.out.find("data-eng"), std::string::npos) << verified.out;

  const CtlResult refused = ctl.Run({"idp", "test", "-"}, Mint("a", {{"aud", "x"}}));
  EXPECT_EQ(refused.exit_code, 1) << refused.Describe();
  EXPECT_NE(refused.out.find("audience"), std::string::npos) << refused.out;
  ExpectNotWritten(jwt);
}

}  // namespace
}  // namespace dbproxy::testing
