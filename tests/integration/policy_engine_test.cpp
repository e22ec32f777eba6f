// The policy engine through a real dbproxyd: rules and the raw-token bypass check, explain,
// reload (admin API, SIGHUP, inotify) with valid and invalid policies, shadow mode, and
// signed policy bundles.
#include <signal.h>

#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/harness/integration_fixture.hpp"

namespace dbproxy::testing {
namespace {

// root-tests (uid 0, the test process) is a staging service; a rule keeps job runs in production.
std::string StagingPolicy(const std::string& extra = "") {
  return DefaultPolicy() +
         "\n[[rule]]\n"
         "id = \"jobs-run-production-only\"\n"
         "effect = \"deny\"\n"
         "actions = [\"jobs.run\"]\n"
         "unless = { \"service.env\" = \"production\" }\n" +
         extra;
}

std::string Code(const HttpResponse& response) {
  const nlohmann::json body = response.Json();
  if (!body.is_object() || !body.contains("error")) return {};
  return body["error"].value("code", "");
}

class PolicyEngineTest : public IntegrationTest {
 protected:
  std::string Revision() {
    const HttpResponse status = agent_->AdminClient().Get("/v1/status");
    const nlohmann::json body = status.Json();
    return body.is_object() ? body.value("policy_revision", "") : "";
  }
  void WritePolicy(const std::string& text) {
    // Write then rename, as config management does: the agent never reads a half file.
    WriteFile(agent_->policy_dir() / ".test.toml.tmp", text, 0644);
    std::filesystem::rename(agent_->policy_dir() / ".test.toml.tmp",
                            agent_->policy_dir() / "test.toml");
  }
};

TEST_F(PolicyEngineTest, RawTokenThatWouldBypassARuleIsRefusedButANarrowOneIsNot) {
  agent_->options().policy = StagingPolicy();
  agent_->WriteConfig();
  ASSERT_TRUE(StartAndEnroll().ok());
  UnixHttpClient client = agent_->Client();
  const HttpResponse broad = RequestToken(client, R"({"scope":"all-apis"})");
  EXPECT_EQ(broad.status, 403) << broad.Describe();
  EXPECT_EQ(Code(broad), "policy_denied");
  EXPECT_EQ(broad.Json()["error"].value("rule", ""), "jobs-run-production-only") << broad.body;
  EXPECT_NE(broad.body.find("proxy"), std::string::npos) << broad.body;
  // A sql token cannot run jobs: nothing to bypass.
  const HttpResponse narrow = RequestToken(client, R"({"scope":"sql"})");
  EXPECT_EQ(narrow.status, 200) << narrow.Describe();
}

TEST_F(PolicyEngineTest, ExplainShowsTheTraceForAllowedAndDeniedCalls) {
  agent_->options().policy = StagingPolicy();
  agent_->WriteConfig();
  ASSERT_TRUE(StartAndEnroll().ok());
  Ctl ctl = MakeCtl();
  const CtlResult denied = ctl.Run({"explain", "--uid", "0", "jobs.run"});
  EXPECT_EQ(denied.exit_code, 1) << denied.Describe();
  EXPECT_NE(denied.out.find("deny"), std::string::npos) << denied.out;
  EXPECT_NE(denied.out.find("jobs-run-production-only"), std::string::npos) << denied.out;
  EXPECT_NE(denied.out.find("root-tests"), std::string::npos) << denied.out;

  const CtlResult allowed = ctl.Run({"explain", "--unit", kUnit, "token:sql"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.Describe();
  EXPECT_NE(allowed.out.find("role:etl"), std::string::npos) << allowed.out;
  EXPECT_NE(allowed.out.find(kService), std::string::npos) << allowed.out;

  // Production is excused by `unless`; the trace says so, and the decision falls to the roles.
  const CtlResult json = ctl.Run({"--json", "explain", "--service", kService, "jobs.run"});
  const nlohmann::json answer = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(answer.is_object()) << json.Describe();
  EXPECT_EQ(answer["decision"]["rule"], "default-deny") << json.out;
  EXPECT_NE(answer["trace"].dump().find("skipped: unless service.env"), std::string::npos)
      << json.out;
}

TEST_F(PolicyEngineTest, ReloadSwapsAValidPolicyAndKeepsTheOldOneOnErrors) {
  ASSERT_TRUE(StartAndEnroll().ok());
  UnixHttpClient client = agent_->Client();
  ASSERT_EQ(RequestToken(client, R"({"scope":"all-apis"})").status, 200);
  const std::string first = Revision();
  ASSERT_FALSE(first.empty());

  WritePolicy(StagingPolicy());
  const CtlResult reloaded = MakeCtl().Run({"reload"});
  ASSERT_EQ(reloaded.exit_code, 0) << reloaded.Describe();
  const std::string second = Revision();
  EXPECT_NE(second, first);
  EXPECT_EQ(RequestToken(client, R"({"scope":"all-apis"})").status, 403);

  WritePolicy(StagingPolicy("[[rule]]\nid = \"broken\"\neffect = \"maybe\"\nactions = [\"x\"]\n"));
  const CtlResult rejected = MakeCtl().Run({"reload"});
  EXPECT_EQ(rejected.exit_code, 1) << rejected.Describe();
  EXPECT_NE(rejected.err.find("effect must be"), std::string::npos) << rejected.err;
  EXPECT_EQ(Revision(), second) << "the last good policy stays";
  const nlohmann::json status = agent_->AdminClient().Get("/v1/status").Json();
  EXPECT_NE(status.value("policy_error", std::string()).find("test.toml:"), std::string::npos)
      << status.dump();
  EXPECT_EQ(RequestToken(client, R"({"scope":"sql"})").status, 200) << "old policy still serves";
}

TEST_F(PolicyEngineTest, AFileChangeOrSighupReloadsWithoutAnyCommand) {
  ASSERT_TRUE(StartAndEnroll().ok());
  const std::string first = Revision();
  WritePolicy(StagingPolicy());
  EXPECT_TRUE(WaitFor([&] { return Revision() != first; }, std::chrono::seconds(5)))
      << "inotify reload";
  const std::string second = Revision();
  // Editor droppings are ignored; SIGHUP picks up what the watcher was told to ignore.
  WriteFile(agent_->policy_dir() / "notes.txt", "not policy", 0644);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(Revision(), second);
  ASSERT_EQ(::kill(agent_->process()->pid(), SIGHUP), 0);
  EXPECT_TRUE(WaitFor([&] { return agent_->Stderr().find("(SIGHUP)") != std::string::npos; },
                      std::chrono::seconds(5)))
      << agent_->Stderr();
}

TEST_F(PolicyEngineTest, ShadowPolicyIsAuditedAndLoggedButNotEnforced) {
  const std::filesystem::path shadow = dir_->path() / "shadow.d";
  std::filesystem::create_directories(shadow);
  WriteFile(shadow / "shadow.toml",
            DefaultPolicy() +
                "\n[[rule]]\nid = \"no-tokens-for-root-tests\"\neffect = \"deny\"\n"
                "actions = [\"token:*\"]\nwhen = { \"service.name\" = \"root-tests\" }\n",
            0644);
  agent_->options().policy_section = "shadow_dir = \"" + shadow.string() + "\"\n";
  agent_->WriteConfig();
  ASSERT_TRUE(StartAndEnroll().ok());
  UnixHttpClient client = agent_->Client();
  const HttpResponse token = RequestToken(client, R"({"scope":"all-apis"})");
  EXPECT_EQ(token.status, 200) << token.Describe();  // the enforced policy decides
  std::string audit;  // the audit writer thread lands the line shortly after the answer
  WaitFor([&] {
    audit = ReadFile(agent_->audit_file());
    return audit.find("\"shadow_rule\"") != std::string::npos;
  }, std::chrono::seconds(3));
  EXPECT_NE(audit.find("\"shadow_decision\":\"deny\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"shadow_rule\":\"no-tokens-for-root-tests\""), std::string::npos)
      << audit;
  EXPECT_NE(agent_->Stderr().find("shadow policy would deny"), std::string::npos)
      << agent_->Stderr();
}

TEST_F(PolicyEngineTest, SignedPolicyLoadsAndATamperedOneIsRefused) {
  Ctl ctl = MakeCtl();
  const std::filesystem::path key = dir_->path() / "signing.key";
  const CtlResult keygen = ctl.Run({"policy", "keygen", "--out", key.string()});
  ASSERT_EQ(keygen.exit_code, 0) << keygen.Describe();
  std::string public_key = keygen.out.substr(keygen.out.find("ed25519:"));
  public_key = public_key.substr(0, public_key.find_first_of(" \n"));
  agent_->options().policy_section = "trusted_keys = [\"" + public_key + "\"]\n";
  agent_->WriteConfig();

  // Unsigned: refuses to start, saying why.
  const std::optional<int> unsigned_exit = agent_->StartExpectingExit();
  ASSERT_TRUE(unsigned_exit.has_value());
  EXPECT_NE(*unsigned_exit, 0);
  EXPECT_NE(agent_->Stderr().find("policy.sig"), std::string::npos) << agent_->Stderr();

  const CtlResult sign =
      ctl.Run({"policy", "sign", "--key", key.string(), agent_->policy_dir().string()});
  ASSERT_EQ(sign.exit_code, 0) << sign.Describe();
  ASSERT_TRUE(StartAndEnroll().ok()) << agent_->Stderr();
  const std::string signed_revision = Revision();

  // A file changed after signing is refused on reload; the signed policy stays.
  WritePolicy(StagingPolicy());
  const CtlResult reload = ctl.Run({"reload"});
  EXPECT_EQ(reload.exit_code, 1) << reload.Describe();
  EXPECT_EQ(Revision(), signed_revision);
}

}  // namespace
}  // namespace dbproxy::testing
