// Self-tests of the harness, so a failing product test points at the product.
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/harness/echo_server.hpp"
#include "tests/integration/harness/harness.hpp"

namespace dbproxy::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

ProcessOptions Shell(const TempDir& dir, const std::string& script) {
  ProcessOptions p;
  p.args = {"/bin/sh", "-c", script};
  p.stdout_file = dir.path() / "out";
  p.stderr_file = dir.path() / "err";
  return p;
}

TEST(HarnessTest, TempDirIsRemovedRecursively) {
  std::filesystem::path kept;
  {
    TempDir dir;
    kept = dir.path();
    std::filesystem::create_directories(kept / "a" / "b");
    WriteFile(kept / "a" / "b" / "f", "x");
    EXPECT_TRUE(std::filesystem::exists(kept / "a" / "b" / "f"));
  }
  EXPECT_FALSE(std::filesystem::exists(kept));
}

TEST(HarnessTest, ProcessCapturesOutputEnvironmentAndExitCode) {
  TempDir dir;
  ProcessOptions p = Shell(dir, "echo out-$HARNESS_X; echo err >&2; exit 7");
  p.env = {"HARNESS_X=42"};
  Process proc(std::move(p));
  ASSERT_TRUE(proc.Wait(seconds(10)));
  EXPECT_EQ(proc.ExitCode(), 7);
  EXPECT_FALSE(proc.Signaled());
  EXPECT_EQ(proc.Stdout(), "out-42\n");
  EXPECT_EQ(proc.Stderr(), "err\n");
}

TEST(HarnessTest, ProcessStopEscalatesToSigkill) {
  TempDir dir;
  Process proc(Shell(dir, "trap '' TERM; while :; do sleep 0.05; done"));
  // Give the shell time to install its trap before we signal it.
  std::this_thread::sleep_for(milliseconds(200));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(proc.Stop(milliseconds(300)), 128 + SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
  EXPECT_TRUE(proc.Signaled());
}

TEST(HarnessTest, ProcessReportsExecFailure) {
  TempDir dir;
  ProcessOptions p = Shell(dir, "");
  p.args = {"/nonexistent/binary"};
  EXPECT_THROW(Process proc(std::move(p)), std::runtime_error);
}

TEST(HarnessTest, HttpClientKeepsConnectionAlive) {
  TempDir dir;
  UnixEchoServer echo(dir.path() / "echo.sock", R"({"ok":true})");
  UnixHttpClient client((dir.path() / "echo.sock").string());
  for (int i = 0; i < 50; ++i) {
    const HttpResponse r = client.Post("/v1/token", "{}");
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"ok":true})");
    EXPECT_EQ(r.Header("x-request-id"), "echo");
  }
  EXPECT_EQ(client.requests_on_connection(), 50);
  EXPECT_EQ(echo.requests_served(), 50);
}

TEST(HarnessTest, HttpClientReportsConnectErrno) {
  TempDir dir;
  UnixHttpClient client((dir.path() / "missing.sock").string());
  const HttpResponse r = client.Get("/healthz");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.sys_errno, ENOENT);
}

TEST(HarnessTest, RunAsChangesUidAndGroups) {
  if (::geteuid() != 0) GTEST_SKIP() << "RunAs needs root";
  const RunAsResult r = RunAs(UserIdentity(4242, 4243, {4244}), [] {
    gid_t groups[4];
    const int n = ::getgroups(4, groups);
    return std::to_string(::getuid()) + "/" + std::to_string(::getgid()) + "/" +
           std::to_string(n) + ":" + std::to_string(groups[0]);
  });
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output, "4242/4243/1:4244");
}

TEST(HarnessTest, RunAsKillsOnTimeoutAndReportsExceptions) {
  const RunAsResult slow = RunAs({}, [] {
    std::this_thread::sleep_for(seconds(30));
    return std::string("late");
  }, milliseconds(300));
  EXPECT_FALSE(slow.ok);
  EXPECT_NE(slow.error.find("did not finish"), std::string::npos) << slow.error;
  const RunAsResult thrown = RunAs({}, []() -> std::string { throw std::runtime_error("boom"); });
  EXPECT_FALSE(thrown.ok);
  EXPECT_NE(thrown.error.find("boom"), std::string::npos) << thrown.error;
}

TEST(HarnessTest, CgroupIsJoinedAndRemoved) {
  std::string why;
  std::string leaf;
  {
    auto cgroup = TestCgroup::Create("billing-etl.service", &why);
    if (!cgroup) GTEST_SKIP() << why;
    Identity who = UserIdentity(4242, 4242);
    who.cgroup_procs = cgroup->procs_files();
    leaf = cgroup->procs_files()[0];
    const RunAsResult r = RunAs(who, [] { return ReadFile("/proc/self/cgroup"); });
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_NE(r.output.find("0::" + cgroup->relative_path() + "\n"), std::string::npos)
        << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(leaf).parent_path()));
}

#ifdef DBPROXY_FAKE_WORKSPACE_BIN
TEST(HarnessTest, FakeWorkspaceStartsAndAnswersControlCalls) {
  TempDir dir;
  FakeWorkspace fake(dir.path() / "fake");
  EXPECT_EQ(fake.url().rfind("https://127.0.0.1:", 0), 0u) << fake.url();
  const HttpResponse discovery =
      fake.Control("GET", "/oidc/.well-known/oauth-authorization-server");
  ASSERT_EQ(discovery.status, 200) << discovery.Describe();
  EXPECT_EQ(discovery.Json().value("token_endpoint", ""), fake.url() + "/oidc/v1/token");
  ASSERT_TRUE(fake.AddClient({"harness-client", "harness-secret", {}}).ok());
  EXPECT_EQ(fake.Grants("harness-client"), 0);
  EXPECT_EQ(fake.CallApi("/api/2.0/preview/scim/v2/Me", "not-a-token").status / 100, 4);
}
#endif

}  // namespace
}  // namespace dbproxy::testing
