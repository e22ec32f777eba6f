// The main job end to end: enroll with dbproxyctl, then a service running under its own uid in
// its own unit's cgroup gets a token from dbproxyd and uses it against the workspace.
#include <gtest/gtest.h>

#include "tests/integration/harness/integration_fixture.hpp"

namespace dbproxy::testing {
namespace {

std::string TrimNewline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

class TokenFlowTest : public IntegrationTest {};

TEST_F(TokenFlowTest, ServiceInUnitCgroupGetsWorkingTokenAfterCtlEnroll) {
  Identity service;
  if (const std::string why = MakeServiceIdentity(&service); !why.empty()) GTEST_SKIP() << why;
  const HarnessStatus started = StartAgent();
  ASSERT_TRUE(started.ok()) << started.error;

  Ctl ctl = MakeCtl();
  const CtlResult enroll = ctl.Run({"enroll", kWorkspace, "--host", fake_->url(), "--credential",
                                    kCredential, "--client-id", kClientId, "--secret-file", "-"},
                                   kSecret);
  ASSERT_EQ(enroll.exit_code, 0) << enroll.Describe();

  const HttpResponse r = RequestAs(service, agent_->socket(), "POST", "/v1/token", "{}");
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.Header("x-request-id").empty());
  const auto token = r.Json();
  ASSERT_TRUE(token.is_object()) << r.body;
  const std::string access_token = token.value("access_token", "");
  ASSERT_FALSE(access_token.empty()) << r.body;
  RecordToken(access_token);
  EXPECT_EQ(token.value("token_type", ""), "Bearer");
  EXPECT_GT(token.value("expires_in", 0), 0);
  EXPECT_GT(token.value("expires_at", 0L), static_cast<long>(::time(nullptr)));
  EXPECT_EQ(token.value("workspace", ""), kWorkspace);
  EXPECT_EQ(token.value("host", ""), fake_->url());
  EXPECT_NE(token.value("scope", "").find("all-apis"), std::string::npos) << r.body;

  const HttpResponse me = fake_->CallApi(kMePath, access_token);
  EXPECT_EQ(me.status, 200) << me.Describe();

  // dbproxyctl token prints only the token; the cached one is still good, so it is the same.
  const CtlResult ctl_token = ctl.Run({"token"}, "", service);
  ASSERT_EQ(ctl_token.exit_code, 0) << ctl_token.Describe();
  EXPECT_EQ(TrimNewline(ctl_token.out), access_token);
  EXPECT_EQ(fake_->CallApi(kMePath, TrimNewline(ctl_token.out)).status, 200);
}

TEST_F(TokenFlowTest, WhoamiShowsMatchedServiceAndUnit) {
  Identity service;
  if (const std::string why = MakeServiceIdentity(&service); !why.empty()) GTEST_SKIP() << why;
  const HarnessStatus started = StartAgent();
  ASSERT_TRUE(started.ok()) << started.error;

  const HttpResponse r = RequestAs(service, agent_->socket(), "GET", "/v1/whoami");
  ASSERT_EQ(r.status, 200) << r.Describe();
  const auto who = r.Json();
  ASSERT_TRUE(who.is_object()) << r.body;
  EXPECT_EQ(who.value("uid", -1), static_cast<int>(kServiceUid));
  EXPECT_EQ(who.value("unit", ""), kUnit);
  EXPECT_EQ(who["service"], kService) << r.body;
  EXPECT_EQ(who.value("workspace", ""), kWorkspace);
  EXPECT_NE(who["roles"].dump().find("etl"), std::string::npos) << r.body;

  Ctl ctl = MakeCtl();
  const CtlResult text = ctl.Run({"whoami"}, "", service);
  ASSERT_EQ(text.exit_code, 0) << text.Describe();
  EXPECT_NE(text.out.find(kService), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(kUnit), std::string::npos) << text.out;
  const CtlResult json = ctl.Run({"--json", "whoami"}, "", service);
  ASSERT_EQ(json.exit_code, 0) << json.Describe();
  const auto parsed = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << json.out;
  EXPECT_EQ(parsed["service"], kService);
  EXPECT_EQ(parsed["unit"], kUnit);
}

TEST_F(TokenFlowTest, UnmatchedUidIsUnidentified) {
  const HarnessStatus enrolled = StartAndEnroll();
  ASSERT_TRUE(enrolled.ok()) << enrolled.error;
  const Identity stranger = UserIdentity(kStrangerUid, kStrangerUid);

  const HttpResponse r = RequestAs(stranger, agent_->socket(), "POST", "/v1/token", "{}");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.Json()["error"].value("code", ""), "unidentified") << r.body;
  EXPECT_EQ(r.body.find("access_token"), std::string::npos);

  const HttpResponse who = RequestAs(stranger, agent_->socket(), "GET", "/v1/whoami");
  ASSERT_EQ(who.status, 200) << who.Describe();
  EXPECT_TRUE(who.Json()["service"].is_null()) << who.body;
  EXPECT_EQ(who.Json().value("uid", -1), static_cast<int>(kStrangerUid));
}

TEST_F(TokenFlowTest, RestartKeepsCredentials) {
  const HarnessStatus enrolled = StartAndEnroll();
  ASSERT_TRUE(enrolled.ok()) << enrolled.error;
  const HarnessStatus restarted = agent_->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted.error;

  UnixHttpClient client = agent_->Client();
  const HttpResponse r = RequestToken(client, R"({"scope":"all-apis"})");
  ASSERT_EQ(r.status, 200) << r.Describe();
  const std::string token = r.Json().value("access_token", "");
  EXPECT_EQ(fake_->CallApi(kMePath, token).status, 200);

  UnixHttpClient admin = agent_->AdminClient();
  const HttpResponse list = admin.Get("/v1/workspaces");
  ASSERT_EQ(list.status, 200) << list.Describe();
  EXPECT_NE(list.body.find(kCredential), std::string::npos) << list.body;
  EXPECT_EQ(list.body.find(kSecret), std::string::npos);
}

}  // namespace
}  // namespace dbproxy::testing
