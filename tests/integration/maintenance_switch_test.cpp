// The maintenance switch end to end: dbproxyctl maintenance on/off/status against a real
// dbproxyd, per scope, with expiry and across restarts.
#include <gtest/gtest.h>

#include <ctime>

#include "tests/integration/harness/runtime_fixture.hpp"

namespace dbproxy::testing {
namespace {

class MaintenanceSwitchTest : public RuntimeFixture {
 protected:
  // Started, enrolled, and root-tests granted the role so both services can get tokens.
  void StartReady() {
    const HarnessStatus ready = StartAndEnroll();
    ASSERT_TRUE(ready.ok()) << ready.error;
    const CtlResult grant = RunCtl({"grant", kRootService, kRole});
    ASSERT_EQ(grant.exit_code, 0) << grant.Describe();
    ASSERT_EQ(RootToken().status, 200);
    ASSERT_EQ(BatchToken().status, 200);
  }
};

void ExpectMaintenance(const HttpResponse& r, const std::string& reason) {
  EXPECT_EQ(r.status, 503) << r.Describe();
  EXPECT_EQ(ErrorCode(r), "maintenance") << r.body;
  EXPECT_NE(ErrorMessage(r).find(reason), std::string::npos) << r.body;
  EXPECT_FALSE(r.Header("retry-after").empty()) << r.Describe();
}

TEST_F(MaintenanceSwitchTest, GlobalSwitchRefusesEveryoneWithRetryAfterAndReason) {
  ASSERT_NO_FATAL_FAILURE(StartReady());
  const CtlResult on = RunCtl({"maintenance", "on", "--reason", "db upgrade"});
  ASSERT_EQ(on.exit_code, 0) << on.Describe();
  EXPECT_NE(on.out.find("maintenance on globally"), std::string::npos) << on.out;

  const HttpResponse root = RootToken();
  ExpectMaintenance(root, "db upgrade");
  EXPECT_EQ(root.Header("retry-after"), "60");
  ExpectMaintenance(BatchToken(), "db upgrade");

  const CtlResult off = RunCtl({"maintenance", "off"});
  ASSERT_EQ(off.exit_code, 0) << off.Describe();
  EXPECT_EQ(RootToken().status, 200);
  EXPECT_EQ(BatchToken().status, 200);
  const CtlResult again = RunCtl({"maintenance", "off"});
  EXPECT_EQ(again.exit_code, 1) << again.Describe();
  EXPECT_NE(again.err.find("not_found"), std::string::npos) << again.err;
}

TEST_F(MaintenanceSwitchTest, ServiceSwitchAffectsOnlyThatService) {
  ASSERT_NO_FATAL_FAILURE(StartReady());
  const CtlResult on =
      RunCtl({"maintenance", "on", "--service", kBatchService, "--reason", "batch rewrite"});
  ASSERT_EQ(on.exit_code, 0) << on.Describe();
  ExpectMaintenance(BatchToken(), "batch rewrite");
  EXPECT_EQ(RootToken().status, 200);
  ASSERT_EQ(RunCtl({"maintenance", "off", "--service", kBatchService}).exit_code, 0);
  EXPECT_EQ(BatchToken().status, 200);

  const CtlResult typo = RunCtl({"maintenance", "on", "--service", "bacth"});
  EXPECT_EQ(typo.exit_code, 1) << typo.Describe();
  EXPECT_NE(typo.err.find("no service 'bacth'"), std::string::npos) << typo.err;
}

TEST_F(MaintenanceSwitchTest, WorkspaceSwitchAffectsOnlyThatWorkspace) {
  ASSERT_NO_FATAL_FAILURE(StartReady());
  const HttpResponse staging =
      agent_->Enroll("staging", kCredential, fake_->url(), kClientId, kSecret);
  ASSERT_EQ(staging.status, 201) << staging.Describe();
  ASSERT_EQ(RootToken(R"({"scope":"all-apis","workspace":"staging"})").status, 200);

  const CtlResult on =
      RunCtl({"maintenance", "on", "--workspace", "staging", "--reason", "staging rebuild"});
  ASSERT_EQ(on.exit_code, 0) << on.Describe();
  ExpectMaintenance(RootToken(R"({"scope":"all-apis","workspace":"staging"})"),
                    "staging rebuild");
  EXPECT_EQ(RootToken(R"({"scope":"all-apis","workspace":"prod"})").status, 200);
  EXPECT_EQ(BatchToken().status, 200);
}

TEST_F(MaintenanceSwitchTest, SwitchWithForEndsOnTime) {
  ASSERT_NO_FATAL_FAILURE(StartReady());
  const CtlResult on = RunCtl({"--json", "maintenance", "on", "--for", "2s", "--reason", "blip"});
  ASSERT_EQ(on.exit_code, 0) << on.Describe();
  const nlohmann::json answer = nlohmann::json::parse(on.out, nullptr, false);
  ASSERT_TRUE(answer.is_object() && answer["maintenance"]["until"].is_number()) << on.out;
  const auto until = answer["maintenance"]["until"].get<std::int64_t>();

  if (::time(nullptr) < until - 1) {
    const HttpResponse during = RootToken();
    ExpectMaintenance(during, "blip");
    const int retry_after = std::atoi(during.Header("retry-after").c_str());
    EXPECT_GE(retry_after, 1) << during.Describe();
    EXPECT_LE(retry_after, 2) << during.Describe();
  }
  ASSERT_TRUE(WaitFor([&] { return ::time(nullptr) >= until; }, std::chrono::seconds(5)));
  EXPECT_EQ(RootToken().status, 200);
  const CtlResult status = RunCtl({"maintenance", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.Describe();
  EXPECT_NE(status.out.find("maintenance: off"), std::string::npos) << status.out;
}

TEST_F(MaintenanceSwitchTest, SwitchSurvivesRestartAndStatusShowsIt) {
  ASSERT_NO_FATAL_FAILURE(StartReady());
  ASSERT_EQ(RunCtl({"maintenance", "on", "--service", kBatchService, "--reason", "migration-7"})
                .exit_code,
            0);
  const HarnessStatus restarted = agent_->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted.error;
  ExpectMaintenance(BatchToken(), "migration-7");
  EXPECT_EQ(RootToken().status, 200) << "the runtime grant survived the restart too";

  const CtlResult table = RunCtl({"maintenance", "status"});
  ASSERT_EQ(table.exit_code, 0) << table.Describe();
  EXPECT_NE(table.out.find("SCOPE"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("service"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(kBatchService), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("migration-7"), std::string::npos) << table.out;
  const CtlResult json = RunCtl({"--json", "maintenance", "status"});
  ASSERT_EQ(json.exit_code, 0) << json.Describe();
  const nlohmann::json list = nlohmann::json::parse(json.out, nullptr, false)["maintenance"];
  ASSERT_EQ(list.size(), 1u) << json.out;
  EXPECT_EQ(list[0]["scope"], "service");
  EXPECT_EQ(list[0]["target"], kBatchService);
  EXPECT_EQ(list[0]["set_by"], "root");
  EXPECT_TRUE(list[0]["until"].is_null());
}

}  // namespace
}  // namespace dbproxy::testing
