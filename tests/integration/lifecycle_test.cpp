// Lifecycle under a service manager: sd_notify states and watchdog keep-alives seen on a fake
// NOTIFY_SOCKET, draining on SIGTERM, socket activation, and GET /metrics.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "tests/integration/harness/integration_fixture.hpp"

namespace dbproxy::testing {
namespace {

// A datagram socket standing in for systemd's notification socket.
class FakeNotifySocket {
 public:
  explicit FakeNotifySocket(std::filesystem::path path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    const timeval tick{.tv_sec = 0, .tv_usec = 50000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
  }
  ~FakeNotifySocket() { ::close(fd_); }
  bool bound() const { return bound_; }
  std::string env() const { return "NOTIFY_SOCKET=" + path_.string(); }

  // Waits up to `timeout` for a datagram containing `needle`; all datagrams read are kept.
  bool WaitFor(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      for (std::size_t i = 0; i < received_.size(); ++i) {
        if (received_[i].find(needle) != std::string::npos) {
          received_.erase(received_.begin(), received_.begin() + static_cast<long>(i) + 1);
          return true;
        }
      }
      if (std::chrono::steady_clock::now() > deadline) return false;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0) received_.emplace_back(buffer, static_cast<std::size_t>(n));
    }
  }
  std::string Dump() const {
    std::string all;
    for (const auto& m : received_) all += "[" + m + "] ";
    return all;
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  bool bound_ = false;
  std::vector<std::string> received_;
};

int ListeningUnixSocket(const std::filesystem::path& path, int type = SOCK_STREAM) {
  const int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return -1;
  if (type == SOCK_STREAM && ::listen(fd, 16) != 0) return -1;
  ::chmod(path.c_str(), 0666);
  return fd;
}

class LifecycleTest : public IntegrationTest {};

TEST_F(LifecycleTest, NotifiesReadyWatchdogReloadingAndStopping) {
  FakeNotifySocket notify(dir_->path() / "notify.sock");
  ASSERT_TRUE(notify.bound());
  agent_->options().env = {notify.env(), "WATCHDOG_USEC=200000"};
  const HarnessStatus started = StartAgent();
  ASSERT_TRUE(started.ok()) << started.error;
  EXPECT_TRUE(notify.WaitFor("READY=1", std::chrono::seconds(10))) << notify.Dump();
  EXPECT_TRUE(notify.WaitFor("WATCHDOG=1", std::chrono::seconds(2))) << notify.Dump();
  EXPECT_TRUE(notify.WaitFor("WATCHDOG=1", std::chrono::seconds(2))) << "keep-alives repeat";
  ::kill(agent_->process()->pid(), SIGHUP);
  EXPECT_TRUE(notify.WaitFor("MONOTONIC_USEC=", std::chrono::seconds(5))) << notify.Dump();
  EXPECT_TRUE(notify.WaitFor("READY=1", std::chrono::seconds(5))) << notify.Dump();
  ::kill(agent_->process()->pid(), SIGTERM);
  EXPECT_TRUE(notify.WaitFor("STOPPING=1", std::chrono::seconds(5))) << notify.Dump();
  ASSERT_TRUE(agent_->process()->Wait(std::chrono::seconds(15)));
  EXPECT_EQ(agent_->process()->ExitCode(), 0);
}

TEST_F(LifecycleTest, SigtermDrainsAnInFlightRequestAndExitsZero) {
  const HarnessStatus ready = StartAndEnroll();
  ASSERT_TRUE(ready.ok()) << ready.error;
  ASSERT_TRUE(fake_->InjectFault({{"target", "token"}, {"count", 1}, {"latency_ms", 1500}}).ok());
  HttpResponse slow;
  std::thread caller([&] {
    UnixHttpClient client = agent_->Client();
    slow = client.Post("/v1/token", R"({"scope":"sql"})");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ::kill(agent_->process()->pid(), SIGTERM);
  caller.join();
  EXPECT_EQ(slow.status, 200) << slow.Describe();
  ASSERT_TRUE(agent_->process()->Wait(std::chrono::seconds(15)));
  EXPECT_EQ(agent_->process()->ExitCode(), 0);
  EXPECT_FALSE(std::filesystem::exists(agent_->socket())) << "a bound socket is removed";
}

TEST_F(LifecycleTest, SocketActivationAdoptsSocketsByName) {
  // Passed in the "wrong" order: the names decide.
  const int admin_fd = ListeningUnixSocket(agent_->admin_socket());
  const int agent_fd = ListeningUnixSocket(agent_->socket());
  ASSERT_GE(admin_fd, 0);
  ASSERT_GE(agent_fd, 0);
  agent_->options().pass_fds = {admin_fd, agent_fd};
  agent_->options().listen_pid = true;
  agent_->options().env = {"LISTEN_FDS=2", "LISTEN_FDNAMES=admin:agent"};
  const HarnessStatus started = StartAgent();
  ASSERT_TRUE(started.ok()) << started.error;
  UnixHttpClient admin = agent_->AdminClient();
  const HttpResponse status = admin.Get("/v1/status");
  EXPECT_EQ(status.status, 200) << status.Describe();
  EXPECT_TRUE(status.Json().contains("version")) << status.body;
  UnixHttpClient client = agent_->Client();
  const HttpResponse whoami = client.Get("/v1/whoami");
  EXPECT_EQ(whoami.status, 200) << whoami.Describe();
  EXPECT_TRUE(whoami.Json().contains("uid")) << "the agent socket must serve the client API";
  EXPECT_EQ(agent_->Stop(), 0);
  EXPECT_TRUE(std::filesystem::exists(agent_->socket())) << "an adopted socket is not unlinked";
  EXPECT_TRUE(std::filesystem::exists(agent_->admin_socket()));
  ::close(admin_fd);
  ::close(agent_fd);
}

TEST_F(LifecycleTest, SocketActivationRefusesADatagramSocket) {
  const int agent_fd = ListeningUnixSocket(agent_->socket(), SOCK_DGRAM);
  ASSERT_GE(agent_fd, 0);
  agent_->options().pass_fds = {agent_fd};
  agent_->options().listen_pid = true;
  agent_->options().env = {"LISTEN_FDS=1", "LISTEN_FDNAMES=agent"};
  const std::optional<int> code = agent_->StartExpectingExit();
  ::close(agent_fd);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE(agent_->Stderr().find("socket activation"), std::string::npos) << agent_->Stderr();
}

// The main loop accepts and hands each connection to the loop serving the fewest: six
// keep-alive connections on two loops are three each, whatever the order they arrive in.
TEST_F(LifecycleTest, ConnectionsAreSpreadOverTheEventLoops) {
  agent_->options().event_loops = 2;
  agent_->WriteConfig();
  const HarnessStatus ready = StartAgent();
  ASSERT_TRUE(ready.ok()) << ready.error;
  std::vector<UnixHttpClient> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(agent_->Client());
    ASSERT_EQ(clients.back().Get("/healthz").status, 200) << "connection " << i;
  }
  const HttpResponse r = agent_->AdminClient().Get("/metrics");
  ASSERT_EQ(r.status, 200) << r.Describe();
  for (const char* expected : {"dbproxy_event_loop_connections{loop=\"0\"} 3\n",
                               "dbproxy_event_loop_connections{loop=\"1\"} 3\n",
                               "dbproxy_active_connections{socket=\"agent\"} 6\n"}) {
    EXPECT_NE(r.body.find(expected), std::string::npos) << expected << "\n" << r.body;
  }
  const HttpResponse status = agent_->AdminClient().Get("/v1/status");
  EXPECT_EQ(status.Json().value("event_loops", 0), 2) << status.Describe();
}

TEST_F(LifecycleTest, MetricsEndpointServesPrometheusText) {
  const HarnessStatus ready = StartAndEnroll();
  ASSERT_TRUE(ready.ok()) << ready.error;
  UnixHttpClient client = agent_->Client();
  ASSERT_EQ(RequestToken(client, R"({"scope":"sql"})").status, 200);
  ASSERT_EQ(RequestToken(client, R"({"scope":"sql"})").status, 200);
  UnixHttpClient admin = agent_->AdminClient();
  const HttpResponse r = admin.Get("/metrics");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.Header("Content-Type").rfind("text/plain; version=0.0.4", 0), 0U)
      << r.Header("Content-Type");
  for (const char* expected :
       {"# TYPE dbproxy_requests_total counter\n", "# TYPE dbproxy_request_duration_seconds histogram\n",
        "dbproxy_build_info{version=\"", "dbproxy_token_cache_hits_total 1\n",
        "dbproxy_token_cache_misses_total 1\n", "dbproxy_token_grants_total 1\n",
        "dbproxy_active_connections{socket=\"admin\"} 1\n", "dbproxy_audit_healthy 1\n",
        "dbproxy_policy_info{revision=\"", "dbproxy_policy_reload_failures_total 0\n",
        "dbproxy_maintenance_switches_active 0\n", "dbproxy_credentials 1\n"}) {
    EXPECT_NE(r.body.find(expected), std::string::npos) << expected << "\n" << r.body;
  }
  EXPECT_EQ(r.body.back(), '\n');
  for (const std::string& token : IssuedTokens()) EXPECT_EQ(r.body.find(token), std::string::npos);

  const CtlResult status = MakeCtl().Run({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.Describe();
  EXPECT_NE(status.out.find("1 hits, 1 misses (50% hits)"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("healthy"), std::string::npos) << status.out;
}

}  // namespace
}  // namespace dbproxy::testing
