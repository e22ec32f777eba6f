// Workload identity federation end to end: a credential enrolled with --federated stores no
// secret; the agent signs a JWT with its own key and exchanges it at the fake workspace, whose
// federation policy (issuer, audience, subject, client id, jwks_json) decides. The key is
// created on first use, kept in the encrypted store across restarts, and rotated with
// dbproxyctl federation rotate while the previous key stays published.
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <string>

#include "tests/integration/harness/runtime_fixture.hpp"

namespace dbproxy::testing {
namespace {

constexpr char kFederationIssuer[] = "https://dbproxy-itest.example/agent";
constexpr char kFederationAudience[] = "itest-account";
constexpr char kFederatedSubject[] = "dbproxy:itest:etl";

class FederationTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    agent_->options().policy =
        std::string("[[service]]\nname = \"root-tests\"\nmatch = { uid = 0 }\n") +
        "workspace = \"" + kWorkspace + "\"\nroles = [\"etl\"]\n\n[[role]]\n" +
        "name = \"etl\"\ncredential = \"" + kCredential + "\"\n" +
        "actions = [\"token:all-apis\", \"scim.me\"]\n";
    agent_->options().extra_toml =
        std::string("[federation]\nissuer = \"") + kFederationIssuer + "\"\n";
    agent_->WriteConfig();
  }

  std::string Jwks() {
    const CtlResult jwks = MakeCtl().Run({"federation", "jwks"});
    EXPECT_EQ(jwks.exit_code, 0) << jwks.Describe();
    return jwks.out;
  }

  std::string AddPolicy(const std::string& jwks, const std::string& subject) {
    const nlohmann::json policy = {{"client_id", kClientId},
                                   {"issuer", kFederationIssuer},
                                   {"audiences", {kFederationAudience}},
                                   {"subject", subject},
                                   {"jwks_json", jwks}};
    const HttpResponse added = fake_->Control("POST", "/_fake/federation/policies", policy.dump());
    EXPECT_EQ(added.status, 201) << added.Describe();
    return added.Json().value("id", "");
  }

  CtlResult EnrollFederated(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"enroll",       kWorkspace,   "--host",           fake_->url(),
                                     "--credential", kCredential,  "--client-id",      kClientId,
                                     "--federated",  "--audience", kFederationAudience};
    args.insert(args.end(), extra.begin(), extra.end());
    return MakeCtl().Run(args);
  }

  nlohmann::json Stats() { return fake_->Control("GET", "/_fake/federation/stats").Json(); }
};

std::string HostName() {
  std::array<char, 256> name{};
  EXPECT_EQ(::gethostname(name.data(), name.size() - 1), 0);
  return name.data();
}

TEST_F(FederationTest, AFederatedCredentialGetsTokensWithNoSecretAnywhere) {
  ASSERT_TRUE(StartAgent().ok());
  const std::string jwks = Jwks();
  ASSERT_EQ(nlohmann::json::parse(jwks)["keys"].size(), 1u) << jwks;
  EXPECT_EQ(jwks.find("\"d\""), std::string::npos) << "no private key member";

  // Before Databricks trusts the key, enrolment is refused and nothing is stored.
  const std::string subject = "dbproxy:" + HostName() + ":" + kCredential;  // the default
  const CtlResult early = EnrollFederated();
  EXPECT_EQ(early.exit_code, 1) << early.Describe();
  EXPECT_NE(early.err.find("invalid_grant"), std::string::npos) << early.Describe();
  EXPECT_EQ(Stats().value("refused", 0), 1);

  AddPolicy(jwks, subject);
  const CtlResult enrolled = EnrollFederated();
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.Describe();
  EXPECT_NE(enrolled.out.find("sub=" + subject), std::string::npos) << enrolled.out;

  UnixHttpClient client = agent_->Client();
  const HttpResponse token = RequestToken(client);
  ASSERT_EQ(token.status, 200) << token.Describe();
  const HttpResponse me = client.Request("GET", kMePath);
  EXPECT_EQ(me.status, 200) << me.Describe();
  const nlohmann::json stats = Stats();
  EXPECT_EQ(stats.value("granted", 0), 2) << "the enrolment check and the token: " << stats;
  EXPECT_EQ(stats["last_grant"].value("client_id", ""), kClientId);
  EXPECT_EQ(stats["last_grant"].value("subject", ""), subject);

  const CtlResult listed = MakeCtl().Run({"workspaces"});
  EXPECT_NE(listed.out.find("federated"), std::string::npos) << listed.Describe();

  // The key survives a restart (it is in the encrypted store), so the policy stays valid.
  ASSERT_TRUE(agent_->Restart().ok());
  EXPECT_EQ(Jwks(), jwks);
  UnixHttpClient again = agent_->Client();
  EXPECT_EQ(RequestToken(again).status, 200);
  EXPECT_EQ(Stats().value("granted", 0), 3);
  for (const std::string& issued : IssuedTokens()) {
    EXPECT_EQ(ReadFile(agent_->audit_file()).find(issued), std::string::npos);
    EXPECT_EQ(agent_->Stderr().find(issued), std::string::npos);
  }
}

TEST_F(FederationTest, RotationSignsWithTheNewKeyWhileTheOldOneStaysPublished) {
  ASSERT_TRUE(StartAgent().ok());
  const std::string first = Jwks();
  const std::string policy = AddPolicy(first, kFederatedSubject);
  ASSERT_EQ(EnrollFederated({"--subject", kFederatedSubject}).exit_code, 0);

  const CtlResult rotated = MakeCtl().Run({"federation", "rotate"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.Describe();
  const nlohmann::json both = nlohmann::json::parse(Jwks());
  ASSERT_EQ(both["keys"].size(), 2u) << both;
  EXPECT_EQ(both["keys"][0], nlohmann::json::parse(first)["keys"][0]) << "old key still there";
  const CtlResult status = MakeCtl().Run({"federation", "status"});
  EXPECT_NE(status.out.find("retired"), std::string::npos) << status.Describe();

  // The policy still lists only the old key: the new key's exchanges are refused...
  const CtlResult refused = EnrollFederated({"--subject", kFederatedSubject});
  EXPECT_EQ(refused.exit_code, 1) << refused.Describe();
  EXPECT_NE(Stats()["last_refusal"].dump().find("kid"), std::string::npos) << Stats();
  // ...until the operator pastes the new JWKS into it.
  ASSERT_EQ(fake_->Control("DELETE", "/_fake/federation/policies/" + policy).status, 200);
  AddPolicy(both.dump(), kFederatedSubject);
  ASSERT_EQ(EnrollFederated({"--subject", kFederatedSubject}).exit_code, 0);
  UnixHttpClient client = agent_->Client();
  EXPECT_EQ(RequestToken(client).status, 200);
}

TEST_F(FederationTest, BadFederatedEnrolmentsAreRefusedClearly) {
  ASSERT_TRUE(StartAgent().ok());
  const CtlResult with_secret =
      MakeCtl().Run({"enroll", kWorkspace, "--host", fake_->url(), "--credential", kCredential,
                     "--client-id", kClientId, "--federated", "--secret-file", "-"});
  EXPECT_EQ(with_secret.exit_code, 2) << with_secret.Describe();
  const CtlResult subject_alone =
      MakeCtl().Run({"enroll", kWorkspace, "--host", fake_->url(), "--credential", kCredential,
                     "--client-id", kClientId, "--subject", "x"},
                    kSecret);
  EXPECT_EQ(subject_alone.exit_code, 2) << subject_alone.Describe();
  const HttpResponse body_and_federated =
      agent_->AdminClient().Request("PUT",
                                    "/v1/workspaces/prod/credentials/x?host=" + fake_->url() +
                                        "&client_id=" + kClientId + "&federated=1",
                                    "a-secret");
  EXPECT_EQ(body_and_federated.status, 400) << body_and_federated.Describe();
  EXPECT_EQ(body_and_federated.Json()["error"].value("code", ""), "invalid_request");
}

}  // namespace
}  // namespace dbproxy::testing
