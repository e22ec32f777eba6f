// The official Databricks JavaScript SDK (@databricks/sdk-experimental, pinned in
// loopback/js_sdk/package-lock.json), unmodified, configured by environment variables only:
//   metadata mode  DATABRICKS_HOST=<workspace>, DATABRICKS_METADATA_SERVICE_URL=<agent>/metadata/token
//   proxy mode     DATABRICKS_HOST=http://127.0.0.1:<agent>, DATABRICKS_TOKEN=<anything>
// run as uid 4242 against a real dbproxyd and the fake workspace. Skipped when node or npm is
// missing; npm installs the locked packages into the build tree on first use.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "tests/integration/harness/integration_fixture.hpp"
#include "tests/integration/harness/run_as.hpp"

namespace dbproxy::testing {
namespace {

constexpr uid_t kSdkUid = kServiceUid;  // 4242, matched by uid (no cgroup here)

std::string SdkPolicy() {
  return std::string("[[service]]\nname = \"sdk-service\"\nmatch = { uid = ") +
         std::to_string(kSdkUid) + " }\nworkspace = \"" + kWorkspace +
         "\"\nroles = [\"reader\"]\n\n"
         "[[service]]\nname = \"root-tests\"\nmatch = { uid = 0 }\nworkspace = \"" + kWorkspace +
         "\"\nroles = [\"reader\"]\n\n"
         "[[role]]\nname = \"reader\"\ncredential = \"" + kCredential +
         "\"\nactions = [\"token:all-apis\", \"scim.me\", \"clusters.read\"]\n";
}

// Runs `command` through sh, returns its exit status (-1 when it could not run) and stdout.
int RunCommand(const std::string& command, std::string* out) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out->append(buffer, n);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class JsSdkTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    std::string output;
    // As root, once: later runs as other users only start node from the installed tree.
    const int installed = RunCommand(std::string("bash '") + DBPROXY_JS_SDK_FIXTURE + "/run_sdk.sh' '" +
                                  DBPROXY_JS_SDK_INSTALL + "' --install-only 2>&1",
                              &output);
    if (installed == 77) GTEST_SKIP() << output;
    ASSERT_EQ(installed, 0) << "npm install of the pinned SDK failed: " << output;
    // The build tree may sit under a directory uid 4242 cannot enter (/root, say): the client
    // runs from a copy in a fresh world-readable directory of its own.
    sdk_dir_ = std::make_unique<TempDir>("dbproxy-js-sdk");
    std::filesystem::permissions(sdk_dir_->path(), std::filesystem::perms(0755));
    output.clear();
    ASSERT_EQ(RunCommand(std::string("cp -a '") + DBPROXY_JS_SDK_INSTALL + "/.' '" +
                             sdk_dir_->path().string() + "/' 2>&1",
                         &output),
              0)
        << output;
    address_ = "127.0.0.1:" + std::to_string(FreeLoopbackPort());
    agent_->options().policy = SdkPolicy();
    agent_->options().loopback_section = "listen = \"" + address_ + "\"\n";
    agent_->WriteConfig();
    const HarnessStatus started = StartAndEnroll();
    ASSERT_TRUE(started.ok()) << started.error;
  }

  // sdk_client.mjs as uid 4242 with `environment` (and nothing of ours but PATH): its JSON line.
  nlohmann::json RunSdk(const std::vector<std::string>& environment, const std::string& args) {
    const RunAsResult run = RunAs(UserIdentity(kSdkUid, kSdkUid), [&] {
      std::string command = "env -i PATH=\"$PATH\" HOME=/nonexistent";
      for (const std::string& variable : environment) command += " '" + variable + "'";
      command += " node '" + sdk_dir_->path().string() + "/sdk_client.mjs' " + args +
                 " --timeout=30";
      std::string out;
      RunCommand(command, &out);
      return out;
    }, std::chrono::seconds(60));
    if (!run.ok) return {{"ok", false}, {"error", run.error}};
    const nlohmann::json line = nlohmann::json::parse(run.output, nullptr, false);
    if (!line.is_object()) return {{"ok", false}, {"error", "not JSON: " + run.output}};
    return line;
  }

  std::string address_;
  std::unique_ptr<TempDir> sdk_dir_;
};

TEST_F(JsSdkTest, MetadataServiceModeGetsTheServicesToken) {
  ASSERT_EQ(fake_->Control("POST", "/_fake/reset").status, 200);
  const nlohmann::json result = RunSdk(
      {"DATABRICKS_HOST=" + fake_->url(),
       "DATABRICKS_METADATA_SERVICE_URL=http://" + address_ + "/metadata/token",
       "DATABRICKS_AUTH_TYPE=metadata-service"},
      "");
  ASSERT_EQ(result.value("ok", false), true) << result.dump();
  EXPECT_FALSE(result.value("me", "").empty()) << result.dump();
  EXPECT_GE(result.value("clusters", -1), 0) << result.dump();
  // The SDK called the workspace with the agent's token: the one the agent's cache hands out
  // for this credential and scope (root asks the same endpoint for it here).
  UnixHttpClient root(address_);
  const HttpResponse mine = root.Request("GET", "/metadata/token", "",
                                         {{"Host", address_},
                                          {"X-Databricks-Metadata-Version", "1"},
                                          {"X-Databricks-Host", fake_->url()}});
  ASSERT_EQ(mine.status, 200) << mine.Describe();
  const std::string token = mine.Json().value("access_token", "");
  RecordToken(token);
  const HttpResponse log = fake_->Control("GET", "/_fake/requests?limit=20");
  EXPECT_NE(log.body.find(kMePath), std::string::npos) << log.body;
  EXPECT_NE(log.body.find("Bearer " + token), std::string::npos) << "the SDK used another token";
}

TEST_F(JsSdkTest, ProxyModeIsDecidedByPolicy) {
  ASSERT_EQ(fake_->Control("POST", "/_fake/reset").status, 200);
  const std::vector<std::string> environment = {"DATABRICKS_HOST=http://" + address_,
                                                "DATABRICKS_TOKEN=dummy-not-a-secret",
                                                "DATABRICKS_AUTH_TYPE=pat"};
  const nlohmann::json allowed = RunSdk(environment, "");
  ASSERT_EQ(allowed.value("ok", false), true) << allowed.dump();
  EXPECT_GE(allowed.value("clusters", -1), 0) << allowed.dump();
  // jobs.read is not among the role's actions: the agent refuses, and the SDK shows its reason.
  const nlohmann::json refused = RunSdk(environment, "--jobs");
  ASSERT_TRUE(refused["status"].is_number()) << refused.dump();
  EXPECT_EQ(refused.value("ok", true), false) << refused.dump();
  EXPECT_EQ(refused.value("step", ""), "jobs") << refused.dump();
  EXPECT_EQ(refused.value("status", 0), 403) << refused.dump();
  EXPECT_NE(refused.value("error", "").find("dbproxy:"), std::string::npos) << refused.dump();
  const HttpResponse log = fake_->Control("GET", "/_fake/requests?limit=20");
  EXPECT_EQ(log.body.find("dummy-not-a-secret"), std::string::npos)
      << "the caller's token reached the workspace";
  EXPECT_EQ(log.body.find("jobs/list"), std::string::npos) << "a refused call reached the workspace";
}

}  // namespace
}  // namespace dbproxy::testing
