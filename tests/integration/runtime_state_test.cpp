// Runtime grants end to end: dbproxyctl grant/revoke/grants against a real dbproxyd, expiry,
// persistence across restarts, and refusal to start on a corrupt grants.json.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <ctime>
#include <thread>

#include "tests/integration/harness/runtime_fixture.hpp"

namespace dbproxy::testing {
namespace {

class RuntimeGrantTest : public RuntimeFixture {};

TEST_F(RuntimeGrantTest, GrantGivesTokenAndRevokeDeniesTheVeryNextRequest) {
  const HarnessStatus ready = StartAndEnroll();
  ASSERT_TRUE(ready.ok()) << ready.error;
  const HttpResponse before = RootToken();
  EXPECT_EQ(before.status, 403) << before.Describe();
  EXPECT_EQ(ErrorCode(before), "policy_denied") << before.body;

  const CtlResult grant = RunCtl({"grant", kRootService, kRole, "--reason", "INC-1234"});
  ASSERT_EQ(grant.exit_code, 0) << grant.Describe();
  EXPECT_NE(grant.out.find("granted role etl to service root-tests (no expiry)"),
            std::string::npos) << grant.out;

  UnixHttpClient client = agent_->Client();
  const HttpResponse granted = RequestToken(client, R"({"scope":"all-apis"})");
  ASSERT_EQ(granted.status, 200) << granted.Describe();
  ASSERT_EQ(RequestToken(client, R"({"scope":"all-apis"})").status, 200);  // now cached

  const CtlResult list = RunCtl({"grants"});
  ASSERT_EQ(list.exit_code, 0) << list.Describe();
  EXPECT_NE(list.out.find("SERVICE"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("INC-1234"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("never"), std::string::npos) << list.out;

  const CtlResult revoke = RunCtl({"revoke", kRootService, kRole});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.Describe();
  EXPECT_NE(revoke.out.find("revoked role etl"), std::string::npos) << revoke.out;
  const HttpResponse after = RequestToken(client, R"({"scope":"all-apis"})");
  EXPECT_EQ(after.status, 403) << after.Describe();
  EXPECT_EQ(ErrorCode(after), "policy_denied") << after.body;

  const CtlResult again = RunCtl({"revoke", kRootService, kRole});
  EXPECT_EQ(again.exit_code, 1) << again.Describe();
  EXPECT_NE(again.err.find("not_found"), std::string::npos) << again.err;
}

TEST_F(RuntimeGrantTest, GrantForTwoSecondsExpiresOnTime) {
  const HarnessStatus ready = StartAndEnroll();
  ASSERT_TRUE(ready.ok()) << ready.error;
  const CtlResult grant = RunCtl({"--json", "grant", kRootService, kRole, "--for", "2s"});
  ASSERT_EQ(grant.exit_code, 0) << grant.Describe();
  const nlohmann::json answer = nlohmann::json::parse(grant.out, nullptr, false);
  ASSERT_TRUE(answer.is_object() && answer["grant"]["expires_at"].is_number()) << grant.out;
  const auto expires_at = answer["grant"]["expires_at"].get<std::int64_t>();
  EXPECT_EQ(expires_at - answer["grant"]["granted_at"].get<std::int64_t>(), 2);

  if (::time(nullptr) < expires_at - 1) {
    const HttpResponse early = RootToken();
    EXPECT_EQ(early.status, 200) << early.Describe();
  }
  ASSERT_TRUE(WaitFor([&] { return ::time(nullptr) >= expires_at; }, std::chrono::seconds(5)));
  const HttpResponse late = RootToken();
  EXPECT_EQ(late.status, 403) << late.Describe();
  EXPECT_EQ(ErrorCode(late), "policy_denied") << late.body;

  const CtlResult list = RunCtl({"--json", "grants"});
  ASSERT_EQ(list.exit_code, 0) << list.Describe();
  EXPECT_EQ(nlohmann::json::parse(list.out, nullptr, false)["grants"].size(), 0u) << list.out;
  EXPECT_EQ(ReadFile(agent_->state_dir() / "grants.json").find(kRootService), std::string::npos)
      << "expired grant pruned from the file";
}

TEST_F(RuntimeGrantTest, GrantsSurviveRestartInAPrivateFile) {
  const HarnessStatus ready = StartAndEnroll();
  ASSERT_TRUE(ready.ok()) << ready.error;
  ASSERT_EQ(RunCtl({"grant", kRootService, kRole, "--for", "1h"}).exit_code, 0);
  struct stat st {};
  ASSERT_EQ(::stat((agent_->state_dir() / "grants.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const HarnessStatus restarted = agent_->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted.error;
  const HttpResponse token = RootToken();
  EXPECT_EQ(token.status, 200) << token.Describe();
  const CtlResult list = RunCtl({"--json", "grants"});
  ASSERT_EQ(list.exit_code, 0) << list.Describe();
  const nlohmann::json grants = nlohmann::json::parse(list.out, nullptr, false)["grants"];
  ASSERT_EQ(grants.size(), 1u) << list.out;
  EXPECT_EQ(grants[0]["service"], kRootService);
  EXPECT_EQ(grants[0]["granted_by"], "root");
}

TEST_F(RuntimeGrantTest, RefusesUnknownNamesBadDurationsAndUnknownFields) {
  const HarnessStatus ready = StartAgent();
  ASSERT_TRUE(ready.ok()) << ready.error;
  const CtlResult no_service = RunCtl({"grant", "nosuch", kRole});
  EXPECT_EQ(no_service.exit_code, 1) << no_service.Describe();
  EXPECT_NE(no_service.err.find("no service 'nosuch'"), std::string::npos) << no_service.err;
  EXPECT_NE(no_service.err.find("not_found"), std::string::npos) << no_service.err;
  const CtlResult no_role = RunCtl({"grant", kRootService, "admin"});
  EXPECT_EQ(no_role.exit_code, 1) << no_role.Describe();
  EXPECT_NE(no_role.err.find("no role 'admin'"), std::string::npos) << no_role.err;

  const CtlResult bad_for = RunCtl({"grant", kRootService, kRole, "--for", "90"});
  EXPECT_EQ(bad_for.exit_code, 2) << bad_for.Describe();
  EXPECT_NE(bad_for.err.find("invalid duration '90'"), std::string::npos) << bad_for.err;

  UnixHttpClient admin = agent_->AdminClient();
  const HttpResponse unknown =
      admin.Post("/v1/grants", R"({"service":"root-tests","role":"etl","until":5})");
  EXPECT_EQ(unknown.status, 400) << unknown.Describe();
  EXPECT_EQ(ErrorCode(unknown), "invalid_request") << unknown.body;
  EXPECT_EQ(admin.Request("PUT", "/v1/grants").status, 405);
}

TEST_F(RuntimeGrantTest, CorruptGrantsFileStopsStartupAndIsKept) {
  const HarnessStatus ready = StartAgent();
  ASSERT_TRUE(ready.ok()) << ready.error;
  agent_->Stop();
  const std::string garbage = R"({"version":1,"grants":[{"service":"x"}]})";
  WriteFile(agent_->state_dir() / "grants.json", garbage, 0600);
  const std::optional<int> code = agent_->StartExpectingExit();
  ASSERT_TRUE(code.has_value()) << "dbproxyd started with a corrupt grants.json";
  EXPECT_NE(*code, 0);
  EXPECT_NE(agent_->Stderr().find("grants.json"), std::string::npos) << agent_->Stderr();
  EXPECT_EQ(ReadFile(agent_->state_dir() / "grants.json"), garbage) << "never a silent reset";
}

}  // namespace
}  // namespace dbproxy::testing
