// The admin side: who may use admin.sock, what enroll says about a bad secret, and what
// `dbproxyctl tokens` shows (metadata, never a token).
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/integration/harness/integration_fixture.hpp"

namespace dbproxy::testing {
namespace {

class AccessTest : public IntegrationTest {};

TEST_F(AccessTest, EnrollWithWrongSecretFailsWithInvalidClient) {
  const HarnessStatus started = StartAgent();
  ASSERT_TRUE(started.ok()) << started.error;
  Ctl ctl = MakeCtl();
  const CtlResult r = ctl.Run({"enroll", kWorkspace, "--host", fake_->url(), "--credential",
                               kCredential, "--client-id", kClientId, "--secret-file", "-"},
                              "dose-not-the-right-secret");
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_EQ(r.err.rfind("dbproxyctl: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("invalid_client"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("invalid_credential"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
  EXPECT_EQ(r.err.find("dose-not-the-right-secret"), std::string::npos);

  // Nothing was stored.
  UnixHttpClient admin = agent_->AdminClient();
  const HttpResponse list = admin.Get("/v1/workspaces");
  ASSERT_EQ(list.status, 200) << list.Describe();
  EXPECT_EQ(list.body.find(kClientId), std::string::npos) << list.body;
}

TEST_F(AccessTest, NonAdminIsRefusedBySocketMode) {
  const HarnessStatus started = StartAgent();
  ASSERT_TRUE(started.ok()) << started.error;
  struct stat st {};
  ASSERT_EQ(::stat(agent_->admin_socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  ASSERT_EQ(::stat(agent_->socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u);

  const Identity stranger = UserIdentity(kStrangerUid, kStrangerUid);
  const HttpResponse raw = RequestAs(stranger, agent_->admin_socket(), "GET", "/v1/status");
  EXPECT_FALSE(raw.ok());
  EXPECT_EQ(raw.sys_errno, EACCES) << raw.Describe();

  Ctl ctl = MakeCtl();
  const CtlResult r = ctl.Run({"workspaces"}, "", stranger);
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
}

TEST_F(AccessTest, NonAdminIsForbiddenByAgentWhenSocketIsOpen) {
  const HarnessStatus started = StartAgent();
  ASSERT_TRUE(started.ok()) << started.error;
  // Simulate a mis-set mode: the agent's own SO_PEERCRED check must still refuse.
  ASSERT_EQ(::chmod(agent_->admin_socket().c_str(), 0666), 0);
  const Identity stranger = UserIdentity(kStrangerUid, kStrangerUid);

  const HttpResponse raw = RequestAs(stranger, agent_->admin_socket(), "GET", "/v1/workspaces");
  ASSERT_TRUE(raw.ok()) << raw.error;
  EXPECT_EQ(raw.status, 403) << raw.body;
  EXPECT_EQ(raw.Json()["error"].value("code", ""), "forbidden") << raw.body;

  const HttpResponse put = RequestAs(
      stranger, agent_->admin_socket(), "PUT",
      "/v1/workspaces/evil/credentials/x?host=https%3A%2F%2F127.0.0.1%3A1&client_id=evil", "s");
  EXPECT_EQ(put.status, 403) << put.Describe();

  Ctl ctl = MakeCtl();
  const CtlResult r = ctl.Run({"status"}, "", stranger);
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_NE(r.err.find("forbidden"), std::string::npos) << r.err;

  // Root (the test) is still welcome.
  UnixHttpClient admin = agent_->AdminClient();
  EXPECT_EQ(admin.Get("/v1/status").status, 200);
}

TEST_F(AccessTest, CtlTokensListsMetadataNeverTheValue) {
  const HarnessStatus enrolled = StartAndEnroll();
  ASSERT_TRUE(enrolled.ok()) << enrolled.error;
  UnixHttpClient client = agent_->Client();
  const HttpResponse token = RequestToken(client, R"({"scope":"sql"})");
  ASSERT_EQ(token.status, 200) << token.Describe();
  ASSERT_EQ(RequestToken(client, R"({"scope":"sql"})").status, 200);

  Ctl ctl = MakeCtl();
  const CtlResult json = ctl.Run({"--json", "tokens"});
  ASSERT_EQ(json.exit_code, 0) << json.Describe();
  const auto parsed = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(parsed.is_object() && parsed.contains("tokens")) << json.out;
  bool found_sql = false;
  for (const auto& t : parsed["tokens"]) {
    EXPECT_EQ(t.value("workspace", ""), kWorkspace);
    EXPECT_EQ(t.value("credential", ""), kCredential);
    EXPECT_TRUE(t.contains("expires_at") && t.contains("expires_in")) << t.dump();
    if (t.value("scope", "") == "sql") {
      found_sql = true;
      EXPECT_GE(t.value("hits", 0), 2) << t.dump();
    }
  }
  EXPECT_TRUE(found_sql) << json.out;

  const CtlResult table = ctl.Run({"tokens"});
  ASSERT_EQ(table.exit_code, 0) << table.Describe();
  EXPECT_NE(table.out.find(kWorkspace), std::string::npos) << table.out;
  for (const std::string& issued : IssuedTokens()) {
    EXPECT_EQ(json.out.find(issued), std::string::npos) << "token value in tokens --json";
    EXPECT_EQ(table.out.find(issued), std::string::npos) << "token value in tokens";
  }
  EXPECT_EQ(json.out.find(kSecret), std::string::npos);
}

TEST_F(AccessTest, UnreachableWorkspaceIsExplainedInTheLogNotToTheCaller) {
  ASSERT_TRUE(StartAgent().ok());
  // Nothing listens on port 1: the caller gets a short error, the operator the details.
  const HttpResponse enroll =
      agent_->Enroll(kWorkspace, kCredential, "https://127.0.0.1:1", kClientId, kSecret);
  EXPECT_EQ(enroll.status, 503) << enroll.Describe();
  const nlohmann::json body = enroll.Json();
  ASSERT_TRUE(body.is_object()) << enroll.body;
  EXPECT_EQ(body["error"].value("code", ""), "upstream_unavailable") << enroll.body;
  EXPECT_EQ(enroll.body.find("127.0.0.1:1/oidc"), std::string::npos) << enroll.body;
  const std::string request_id = body["error"].value("request_id", "");
  ASSERT_FALSE(request_id.empty());
  EXPECT_TRUE(WaitFor(
      [&] {
        const std::string log = agent_->Stderr();
        return log.find("request " + request_id) != std::string::npos &&
               log.find("https://127.0.0.1:1/oidc/.well-known/oauth-authorization-server") !=
                   std::string::npos;
      },
      std::chrono::seconds(5)))
      << agent_->Stderr();
  EXPECT_EQ(agent_->Stderr().find(kSecret), std::string::npos);
}

}  // namespace
}  // namespace dbproxy::testing
