// `dbproxyctl env`: the environment for unmodified Databricks clients, from agent.toml, the
// policy and the admin socket's workspace list (a fake agent answers it).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/cli/child_process.hpp"
#include "tests/cli/fake_agent.hpp"

namespace dbproxy::cli::testing {
namespace {

constexpr char kWorkspaces[] =
    R"({"workspaces":[{"name":"prod","host":"https://adb-1.azuredatabricks.net","credentials":[]},)"
    R"({"name":"dev","host":"https://dev.cloud.databricks.com","credentials":[]}]})";

class EnvCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/dbproxyctl-env-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    std::filesystem::create_directories(dir_ / "policy.d");
    std::ofstream(dir_ / "policy.d" / "p.toml")
        << "[[service]]\nname = \"billing-etl\"\nmatch = { unit = \"billing-etl.service\" }\n"
           "workspace = \"dev\"\nroles = [\"r\"]\n\n[[role]]\nname = \"r\"\ncredential = \"c\"\n"
           "actions = [\"token:all-apis\"]\n";
    WriteConfig("listen = [\"[::1]:8765\", \"127.0.0.1:8765\"]\n");
    admin_ = std::make_unique<FakeAgent>((dir_ / "admin.sock").string(),
                                         JsonResponse(200, kWorkspaces));
  }
  void TearDown() override {
    admin_.reset();
    std::filesystem::remove_all(dir_);
  }

  void WriteConfig(const std::string& loopback) {
    std::ofstream(dir_ / "agent.toml")
        << "[agent]\npolicy_dir = \"" << (dir_ / "policy.d").string() << "\"\n"
        << (loopback.empty() ? "" : "[loopback]\n" + loopback);
  }

  ChildResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--admin-socket", (dir_ / "admin.sock").string(), "env",
                               "--config", (dir_ / "agent.toml").string()});
    return RunChild(DBPROXYCTL_PATH, args);
  }

  std::filesystem::path dir_;
  std::unique_ptr<FakeAgent> admin_;
};

TEST_F(EnvCommandTest, MetadataModeForAWorkspace) {
  const ChildResult r = Run({"--workspace", "prod"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "DATABRICKS_HOST=https://adb-1.azuredatabricks.net\n"
            "DATABRICKS_METADATA_SERVICE_URL=http://127.0.0.1:8765/metadata/token\n"
            "DATABRICKS_AUTH_TYPE=metadata-service\n");
}

TEST_F(EnvCommandTest, WorkspaceComesFromTheServiceInThePolicy) {
  const ChildResult r = Run({"--service", "billing-etl", "--shell", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out["DATABRICKS_HOST"], "https://dev.cloud.databricks.com");
  EXPECT_EQ(out["DATABRICKS_AUTH_TYPE"], "metadata-service");
}

TEST_F(EnvCommandTest, FishAndProxyMode) {
  const ChildResult fish = Run({"--workspace", "dev", "--shell", "fish"});
  ASSERT_EQ(fish.exit_code, 0) << fish.err;
  EXPECT_NE(fish.out.find("set -gx DATABRICKS_HOST https://dev.cloud.databricks.com\n"),
            std::string::npos)
      << fish.out;
  const ChildResult proxy = Run({"--proxy"});
  ASSERT_EQ(proxy.exit_code, 0) << proxy.err;
  EXPECT_NE(proxy.out.find("DATABRICKS_HOST=http://127.0.0.1:8765\n"), std::string::npos)
      << proxy.out;
  EXPECT_NE(proxy.out.find("DATABRICKS_AUTH_TYPE=pat\n"), std::string::npos) << proxy.out;
  EXPECT_NE(proxy.out.find("# proxy mode"), std::string::npos) << proxy.out;
}

TEST_F(EnvCommandTest, ClearErrors) {
  const ChildResult unknown = Run({"--workspace", "nope"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("'nope' is not enrolled"), std::string::npos) << unknown.err;
  const ChildResult ambiguous = Run({});
  EXPECT_NE(ambiguous.exit_code, 0);
  EXPECT_NE(ambiguous.err.find("give --workspace"), std::string::npos) << ambiguous.err;
  const ChildResult no_service = Run({"--service", "ghost"});
  EXPECT_NE(no_service.exit_code, 0);
  EXPECT_NE(no_service.err.find("no service 'ghost'"), std::string::npos) << no_service.err;
  const ChildResult shell = Run({"--workspace", "dev", "--shell", "csh"});
  EXPECT_NE(shell.exit_code, 0);
  WriteConfig("");
  const ChildResult off = Run({"--workspace", "dev"});
  EXPECT_NE(off.exit_code, 0);
  EXPECT_NE(off.err.find("no [loopback] listen"), std::string::npos) << off.err;
  EXPECT_EQ(off.err.find('\n'), off.err.size() - 1) << "one line: " << off.err;
}

}  // namespace
}  // namespace dbproxy::cli::testing
