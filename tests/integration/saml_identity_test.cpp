// SAML assertions end to end: a real dbproxyd with a [[saml_idp]] "corp-saml" whose certificate
// the test made, assertions signed here (tests/common/identity/saml_test_support.hpp) and
// presented in X-Dbproxy-SAML-Assertion on agent.sock and in proxy mode; rules read saml.*
// attributes, the audit names the NameID, and a refused assertion is a 401 that is recorded
// but never written down itself. A [[idp]] "corp" (the fake workspace's OIDC provider) lets a
// caller present a JWT beside the assertion.
//
// Callers: the test process (root) is service "root-tests".
#include <gtest/gtest.h>

#include <ctime>
#include <string>
#include <vector>

#include <openssl/evp.h>

#include "tests/common/identity/saml_test_support.hpp"
#include "tests/integration/harness/runtime_fixture.hpp"

namespace dbproxy::testing {
namespace {

constexpr char kSamlHeader[] = "X-Dbproxy-SAML-Assertion";
constexpr char kSamlAudience[] = "https://dbproxy.itest.example";
constexpr char kJwtAudience[] = "dbproxy-itest";

std::string SamlItestPolicy() {
  return std::string(
             "[[service]]\n"
             "name = \"root-tests\"\n"
             "match = { uid = 0 }\n"
             "workspace = \"") +
         kWorkspace + "\"\nroles = [\"etl\"]\n\n" +
         "[[service]]\n"
         "name = \"sso-only\"\n"
         "match = { uid = " + std::to_string(kStrangerUid) + " }\n"
         "workspace = \"" + kWorkspace + "\"\nroles = [\"etl\"]\n"
         "require_saml = \"corp-saml\"\n\n" +
         "[[role]]\n"
         "name = \"etl\"\n"
         "credential = \"" +
         kCredential + "\"\n" + "actions = [\"token:all-apis\", \"token:sql\", \"scim.me\"]\n\n" +
         "[[rule]]\n"
         "id = \"sql-for-saml-data-eng\"\n"
         "effect = \"deny\"\n"
         "actions = [\"token:sql\"]\n"
         "unless = { \"saml.groups\" = \"data-eng\" }\n";
}

// An EC key: generated in a moment even under ASan (RSA is covered by the unit tests).
const saml_testing::Signer& IdpSigner() {
  static const saml_testing::Signer* const signer = new saml_testing::Signer(
      saml_testing::MakeSigner(EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"))));
  return *signer;
}

class SamlIdentityTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    certificate_file_ = agent_->dir() / "saml-idp.pem";
    WriteFile(certificate_file_, "subject=CN = test idp\n" + IdpSigner().pem);
    agent_->options().policy = SamlItestPolicy();
    agent_->options().extra_toml = SamlIdpToml() + "[[idp]]\nname = \"corp\"\nissuer = \"" +
                                   fake_->url() + "/idp\"\naudience = \"" + kJwtAudience + "\"\n";
    agent_->WriteConfig();
  }

  std::string SamlIdpToml() const {
    return std::string("[[saml_idp]]\nname = \"corp-saml\"\nentity_id = \"") + saml_testing::kIdp +
           "\"\ncertificate_file = \"" + certificate_file_.string() + "\"\naudience = \"" +
           kSamlAudience + "\"\n";
  }

  // A signed assertion valid now for `groups`, with `change` applied to its spec first.
  template <class Change>
  std::string Assertion(const std::string& groups, Change change) {
    saml_testing::Spec spec = saml_testing::SpecAt(std::time(nullptr));
    spec.audience = kSamlAudience;
    spec.signature_method = saml_testing::kEcdsaSha256;
    spec.attributes = "<saml:Attribute Name=\"groups\"><saml:AttributeValue>" + groups +
                      "</saml:AttributeValue></saml:Attribute>";
    change(spec);
    return saml_testing::Sign(saml_testing::AssertionXml(spec), IdpSigner().key.get(), spec.id);
  }
  std::string Assertion(const std::string& groups = "data-eng") {
    return Assertion(groups, [](saml_testing::Spec&) {});
  }

  HttpResponse TokenWith(const std::string& xml, const std::string& body = "{}",
                         HttpHeaders headers = {}) {
    headers.emplace_back("Content-Type", "application/json");
    headers.emplace_back(kSamlHeader, saml_testing::Base64(xml));
    UnixHttpClient client = agent_->Client();
    return client.Request("POST", "/v1/token", body, headers);
  }

  nlohmann::json AuditOf(const HttpResponse& response) {
    return WaitForAuditRecord(agent_->audit_file(), response.Header("x-request-id"));
  }

  // Neither the answer, the agent's log nor its audit trail ever holds the assertion.
  void ExpectNotWritten(const std::string& xml, const HttpResponse& response) {
    const std::string base64 = saml_testing::Base64(xml);
    const std::string signature = xml.substr(xml.find("<ds:SignatureValue>"), 60);
    for (const std::string& text :
         {ReadFile(agent_->audit_file()), agent_->Stderr(), response.body}) {
      EXPECT_EQ(text.find(base64.substr(base64.size() / 2, 40)), std::string::npos);
      EXPECT_EQ(text.find(signature), std::string::npos);
    }
  }

  std::filesystem::path certificate_file_;
};

TEST_F(SamlIdentityTest, AVerifiedAssertionNamesTheUserAndRulesReadItsAttributes) {
  ASSERT_TRUE(StartAndEnroll().ok());
  const std::string member = Assertion();
  const HttpResponse token = TokenWith(member, R"({"scope":"sql"})");
  ASSERT_EQ(token.status, 200) << token.Describe();
  const nlohmann::json record = AuditOf(token);
  EXPECT_EQ(record.value("service", ""), "root-tests");
  EXPECT_EQ(record.value("saml_idp", ""), "corp-saml");
  EXPECT_EQ(record.value("saml_issuer", ""), saml_testing::kIdp);
  EXPECT_EQ(record.value("saml_name_id", ""), "alice@corp.example");
  EXPECT_EQ(record.value("uid", -1), 0) << "the kernel identity stays in the record";
  ExpectNotWritten(member, token);

  const HttpResponse other = TokenWith(Assertion("finance"), R"({"scope":"sql"})");
  EXPECT_EQ(other.status, 403) << other.Describe();
  EXPECT_EQ(other.Json()["error"].value("rule", ""), "sql-for-saml-data-eng");
  UnixHttpClient client = agent_->Client();
  EXPECT_EQ(client.Post("/v1/token", R"({"scope":"sql"})").status, 403) << "no assertion";

  // Explain, given the attributes, names the rule these requests met.
  const auto explained = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--json", "explain", "--uid", "0", "--saml-idp", "corp-saml"});
    args.push_back("token:sql");
    const CtlResult result = MakeCtl().Run(args);
    const nlohmann::json answer = nlohmann::json::parse(result.out, nullptr, false);
    return answer.is_object() ? answer["decision"].value("rule", "") : result.Describe();
  };
  EXPECT_EQ(explained({"--saml-attribute", "groups=finance"}), "sql-for-saml-data-eng");
  EXPECT_EQ(explained({"--saml-attribute", "name_id=alice@corp.example"}),
            "sql-for-saml-data-eng");
  EXPECT_EQ(
      explained({"--saml-attribute", "groups=finance", "--saml-attribute", "groups=data-eng"}),
      "role:etl");

  const HttpResponse whoami =
      client.Request("GET", "/v1/whoami", "", {{kSamlHeader, saml_testing::Base64(member)}});
  ASSERT_EQ(whoami.status, 200) << whoami.Describe();
  const nlohmann::json saml = whoami.Json()["saml"];
  EXPECT_EQ(saml.value("idp", ""), "corp-saml");
  EXPECT_EQ(saml.value("issuer", ""), saml_testing::kIdp);
  EXPECT_EQ(saml.value("name_id", ""), "alice@corp.example");
  EXPECT_EQ(saml["attributes"]["saml.groups"], nlohmann::json({"data-eng"}));

  // Proxy mode reads the same header (and never forwards it: proxy_headers_test).
  const HttpResponse proxied =
      client.Request("GET", kMePath, "", {{kSamlHeader, saml_testing::Base64(member)}});
  ASSERT_EQ(proxied.status, 200) << proxied.Describe();
  EXPECT_EQ(AuditOf(proxied).value("saml_name_id", ""), "alice@corp.example");

  // A JWT beside the assertion: both verified, both recorded.
  const HttpResponse minted = fake_->Control(
      "POST", "/_fake/idp/token", nlohmann::json({{"sub", "svc-7"}, {"aud", kJwtAudience}}).dump());
  ASSERT_EQ(minted.status, 200) << minted.Describe();
  const std::string jwt = minted.Json().value("token", "");
  const HttpResponse both =
      TokenWith(member, "{}", {{"Authorization", "Bearer " + jwt}});
  ASSERT_EQ(both.status, 200) << both.Describe();
  const nlohmann::json both_record = AuditOf(both);
  EXPECT_EQ(both_record.value("jwt_sub", ""), "svc-7");
  EXPECT_EQ(both_record.value("saml_name_id", ""), "alice@corp.example");
}

TEST_F(SamlIdentityTest, RefusedAssertionsAre401AndNeverWrittenDown) {
  ASSERT_TRUE(StartAndEnroll().ok());
  const std::string valid = Assertion();
  struct Case {
    std::string name;
    std::string xml;
    std::string reason_part;
  };
  const std::vector<Case> cases = {
      {"tampered", saml_testing::InsertBefore(valid, "</saml:AttributeStatement>",
                                              "<saml:Attribute Name=\"admin\"/>"),
       "does not verify"},
      {"wrapped", saml_testing::ResponseXml(saml_testing::EvilAssertion() + valid),
       "2 assertions"},
      {"expired",
       Assertion("data-eng",
                 [](saml_testing::Spec& spec) {
                   spec.issued -= 3600;
                   spec.not_before -= 3600;
                   spec.not_on_or_after = *spec.not_on_or_after - 3600;
                 }),
       "expired at"},
      {"wrong audience",
       Assertion("data-eng", [](saml_testing::Spec& spec) { spec.audience = "urn:elsewhere"; }),
       "audience mismatch"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const HttpResponse refused = TokenWith(c.xml);
    EXPECT_EQ(refused.status, 401) << refused.Describe();
    EXPECT_EQ(ErrorCode(refused), "invalid_identity");
    EXPECT_NE(ErrorMessage(refused).find(c.reason_part), std::string::npos) << refused.body;
    const nlohmann::json record = AuditOf(refused);
    EXPECT_EQ(record.value("decision", ""), "deny");
    EXPECT_EQ(record.value("rule", ""), "invalid_identity");
    EXPECT_EQ(record.value("error", ""), "invalid_identity");
    EXPECT_NE(record.value("saml_error", "").find(c.reason_part), std::string::npos) << record;
    EXPECT_FALSE(record.contains("saml_name_id"));
    ExpectNotWritten(c.xml, refused);
  }
}

// OneTimeUse: the assertion is taken once; presented again (on either path) it is a replay,
// refused and audited. Another one-time assertion, and a plain one used twice, are served.
TEST_F(SamlIdentityTest, AOneTimeUseAssertionIsTakenOnce) {
  ASSERT_TRUE(StartAndEnroll().ok());
  const auto one_time = [&](const std::string& id) {
    return Assertion("data-eng", [&](saml_testing::Spec& spec) {
      spec.id = id;
      spec.extra_conditions = "<saml:OneTimeUse/>";
    });
  };
  const std::string once = one_time("_once1");
  const HttpResponse first = TokenWith(once, R"({"scope":"sql"})");
  ASSERT_EQ(first.status, 200) << first.Describe();
  for (const bool proxied : {false, true}) {
    SCOPED_TRACE(proxied ? "proxy mode" : "token request");
    UnixHttpClient client = agent_->Client();
    const HttpResponse again =
        proxied ? client.Request("GET", kMePath, "", {{kSamlHeader, saml_testing::Base64(once)}})
                : TokenWith(once, R"({"scope":"sql"})");
    EXPECT_EQ(again.status, 401) << again.Describe();
    EXPECT_EQ(ErrorCode(again), "invalid_identity");
    EXPECT_NE(ErrorMessage(again).find("presented again"), std::string::npos) << again.body;
    const nlohmann::json record = AuditOf(again);
    EXPECT_EQ(record.value("decision", ""), "deny");
    EXPECT_EQ(record.value("rule", ""), "invalid_identity");
    EXPECT_NE(record.value("saml_error", "").find("replay"), std::string::npos) << record;
    ExpectNotWritten(once, again);
  }
  EXPECT_EQ(TokenWith(one_time("_once2"), R"({"scope":"sql"})").status, 200);
  const std::string plain = Assertion();
  EXPECT_EQ(TokenWith(plain, R"({"scope":"sql"})").status, 200);
  EXPECT_EQ(TokenWith(plain, R"({"scope":"sql"})").status, 200) << "only OneTimeUse is taken once";
}

TEST_F(SamlIdentityTest, ARequireSamlServiceNeedsAnAssertionFromItsProvider) {
  ASSERT_TRUE(StartAndEnroll().ok());
  const Identity sso_user = UserIdentity(kStrangerUid, kStrangerUid);
  const HttpResponse without =
      RequestAs(sso_user, agent_->socket(), "POST", "/v1/token", R"({"scope":"all-apis"})");
  EXPECT_EQ(without.status, 401) << without.Describe();
  EXPECT_EQ(ErrorCode(without), "identity_required");
  EXPECT_EQ(without.Json()["error"].value("rule", ""), "require_saml");
  EXPECT_EQ(AuditOf(without).value("rule", ""), "require_saml");
  const std::string assertion = Assertion();
  const HttpResponse with =
      RequestAs(sso_user, agent_->socket(), "POST", "/v1/token", R"({"scope":"all-apis"})",
                {{kSamlHeader, saml_testing::Base64(assertion)}});
  ASSERT_EQ(with.status, 200) << with.Describe();
  const nlohmann::json record = AuditOf(with);
  EXPECT_EQ(record.value("service", ""), "sso-only");
  EXPECT_EQ(record.value("uid", -1), static_cast<int>(kStrangerUid));
  EXPECT_EQ(record.value("saml_name_id", ""), "alice@corp.example");
  // Explain says the same.
  const CtlResult explained = MakeCtl().Run({"--json", "explain", "--service", "sso-only",
                                             "token:all-apis"});
  EXPECT_NE(explained.out.find("\"require_saml\""), std::string::npos) << explained.Describe();
  const CtlResult satisfied =
      MakeCtl().Run({"--json", "explain", "--service", "sso-only", "--saml-idp", "corp-saml",
                     "token:all-apis"});
  EXPECT_EQ(satisfied.exit_code, 0) << satisfied.Describe();
}

TEST_F(SamlIdentityTest, WithoutASamlIdpTheHeaderIsRefused) {
  agent_->options().extra_toml.clear();
  agent_->WriteConfig();
  // The policy's sso-only service requires a [[saml_idp]] this configuration lacks: check-config
  // and the agent's log say so (a warning: the agent still runs).
  std::string checked;
  EXPECT_EQ(agent_->CheckConfig(&checked), 0) << checked;
  EXPECT_NE(checked.find("warning: unknown-identity-provider: service 'sso-only' has "
                         "require_saml = \"corp-saml\""),
            std::string::npos)
      << checked;
  ASSERT_TRUE(StartAndEnroll().ok());
  EXPECT_NE(agent_->Stderr().find("unknown-identity-provider"), std::string::npos)
      << agent_->Stderr();
  const HttpResponse token = TokenWith(Assertion());
  EXPECT_EQ(token.status, 401) << token.Describe();
  EXPECT_EQ(ErrorCode(token), "invalid_identity");
  EXPECT_NE(ErrorMessage(token).find("[[saml_idp]]"), std::string::npos) << token.body;
  EXPECT_EQ(AuditOf(token).value("rule", ""), "invalid_identity");
  UnixHttpClient client = agent_->Client();
  const int calls_before = fake_->Counters().value("api_requests", 0);
  const HttpResponse proxied =
      client.Request("GET", kMePath, "", {{kSamlHeader, saml_testing::Base64(Assertion())}});
  EXPECT_EQ(proxied.status, 401) << proxied.Describe();
  EXPECT_EQ(fake_->Counters().value("api_requests", 0), calls_before) << "refused before the call";
}

TEST_F(SamlIdentityTest, ABadCertificateFileStopsTheAgentAndFailsCheckConfig) {
  // A private key where the certificate belongs (generated now, never committed).
  WriteFile(certificate_file_, saml_testing::PrivateKeyPem(IdpSigner().key.get()));
  std::string output;
  EXPECT_EQ(agent_->CheckConfig(&output), 1) << output;
  EXPECT_NE(output.find(certificate_file_.string()), std::string::npos) << output;
  std::filesystem::remove(certificate_file_);
  const std::optional<int> code = agent_->StartExpectingExit();
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE(agent_->Stderr().find("[[saml_idp]] 'corp-saml'"), std::string::npos)
      << agent_->Stderr();
  EXPECT_NE(agent_->Stderr().find(certificate_file_.string()), std::string::npos)
      << agent_->Stderr();
}

}  // namespace
}  // namespace dbproxy::testing
