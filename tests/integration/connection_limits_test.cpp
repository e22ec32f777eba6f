// Connection caps per peer uid: one local user holding thousands of idle connections on
// agent.sock (mode 0666) must not cut every other uid off. Before [agent]
// max_connections_per_uid, uid A's 2,000 idle connections filled the global cap (1,024) and
// every other caller's connection was closed unread.
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness/integration_fixture.hpp"
#include "tests/integration/harness/run_as.hpp"

namespace dbproxy::testing {
namespace {

constexpr int kIdleConnections = 2000;
constexpr int kDefaultPerUidCap = 256;  // [agent] max_connections_per_uid's default
constexpr int kTokenRequests = 40;

// Opens `count` connections to `socket` and returns their descriptors (fewer on failure).
std::vector<int> OpenIdleConnections(const std::string& socket, int count) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  socket.copy(address.sun_path, sizeof address.sun_path - 1);
  std::vector<int> fds;
  for (int i = 0; i < count; ++i) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd);
      break;
    }
    fds.push_back(fd);
  }
  return fds;
}

// How many of `fds` the peer has not closed, once that number stops changing (at most ~5 s).
int StillOpen(const std::vector<int>& fds) {
  int open = -1;
  for (int round = 0; round < 50; ++round) {
    std::vector<pollfd> polls;
    for (int fd : fds) polls.push_back({.fd = fd, .events = POLLIN, .revents = 0});
    ::poll(polls.data(), polls.size(), 0);
    const int now = static_cast<int>(std::count_if(
        polls.begin(), polls.end(), [](const pollfd& p) { return p.revents == 0; }));
    if (now == open) return open;
    open = now;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return open;
}

std::int64_t P99(std::vector<std::int64_t> micros) {
  std::sort(micros.begin(), micros.end());
  if (micros.empty()) return 0;
  return micros[std::min(micros.size() - 1, micros.size() * 99 / 100)];
}

// A metric sample's value from the Prometheus text, or -1.
double Sample(const std::string& text, const std::string& line_prefix) {
  const std::size_t at = text.find(line_prefix);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + line_prefix.size()));
}

class ConnectionLimitsTest : public IntegrationTest {
 protected:
  // kTokenRequests token requests as root (service root-tests), each on a new connection:
  // their latencies in microseconds, and how many succeeded.
  std::pair<std::vector<std::int64_t>, int> TokenRound() {
    std::vector<std::int64_t> micros;
    int ok = 0;
    for (int i = 0; i < kTokenRequests; ++i) {
      UnixHttpClient client = agent_->Client();
      const auto start = std::chrono::steady_clock::now();
      const HttpResponse r = RequestToken(client, R"({"scope":"all-apis"})");
      micros.push_back(std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count());
      if (r.status == 200) ++ok;
    }
    return {micros, ok};
  }
};

TEST_F(ConnectionLimitsTest, OneUidsIdleConnectionsDoNotStarveAnotherUid) {
  ASSERT_TRUE(StartAndEnroll().ok());
  const auto [quiet, quiet_ok] = TokenRound();
  ASSERT_EQ(quiet_ok, kTokenRequests);

  // uid A holds its connections until the pipe closes.
  int hold[2];
  ASSERT_EQ(::pipe(hold), 0);
  RunAsResult flood;
  std::thread attacker([&] {
    flood = RunAs(
        UserIdentity(kStrangerUid, kStrangerUid),
        [&]() -> std::string {
          ::close(hold[1]);
          rlimit files{};
          ::getrlimit(RLIMIT_NOFILE, &files);
          files.rlim_cur = files.rlim_max;
          ::setrlimit(RLIMIT_NOFILE, &files);
          const std::vector<int> fds =
              OpenIdleConnections(agent_->socket().string(), kIdleConnections);
          const int open = StillOpen(fds);
          std::fprintf(stderr, "uid %d: %zu connected, %d kept open by the agent\n",
                       static_cast<int>(kStrangerUid), fds.size(), open);
          char byte;
          while (::read(hold[0], &byte, 1) > 0) {
          }
          for (int fd : fds) ::close(fd);
          return std::to_string(fds.size()) + " " + std::to_string(open);
        },
        std::chrono::seconds(120));
  });
  // Wait until the agent has refused uid A's excess connections.
  const std::string refused_line =
      "dbproxy_connections_refused_total{socket=\"agent\",cap=\"max_connections_per_uid\"} ";
  double refused = -1;
  for (int i = 0; i < 300 && refused < kIdleConnections - kDefaultPerUidCap; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    refused = Sample(agent_->AdminClient().Get("/metrics").body, refused_line);
  }
  ::close(hold[0]);  // the child has its own copy by now
  const auto [loaded, loaded_ok] = TokenRound();
  const std::string metrics = agent_->AdminClient().Get("/metrics").body;
  ::close(hold[1]);
  attacker.join();

  ASSERT_TRUE(flood.ok) << flood.error;
  EXPECT_EQ(flood.output, std::to_string(kIdleConnections) + " " +
                              std::to_string(kDefaultPerUidCap));
  EXPECT_EQ(Sample(metrics, refused_line), kIdleConnections - kDefaultPerUidCap) << metrics;
  EXPECT_EQ(loaded_ok, kTokenRequests) << "another uid's requests failed while uid "
                                       << kStrangerUid << " held its connections";
  const std::int64_t quiet_p99 = P99(quiet);
  const std::int64_t loaded_p99 = P99(loaded);
  std::printf("token p99 quiet %lld us, with %d idle connections of another uid %lld us\n",
              static_cast<long long>(quiet_p99), kIdleConnections,
              static_cast<long long>(loaded_p99));
  EXPECT_LE(loaded_p99, 5 * quiet_p99 + 20000);
  EXPECT_NE(agent_->Stderr().find("max_connections_per_uid reached (uid " +
                                  std::to_string(kStrangerUid) + ")"),
            std::string::npos);
  // The held connections are gone: uid A may connect again.
  const HttpResponse after = RequestAs(UserIdentity(kStrangerUid, kStrangerUid), agent_->socket(),
                                       "GET", "/healthz");
  EXPECT_EQ(after.status, 200) << after.error;
}

TEST_F(ConnectionLimitsTest, CapsComeFromTheConfig) {
  agent_->options().agent_section = "max_connections = 32\nmax_connections_per_uid = 4\n";
  agent_->WriteConfig();
  ASSERT_TRUE(StartAgent().ok());
  std::vector<UnixHttpClient> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(agent_->Client());
    ASSERT_EQ(held.back().Get("/healthz").status, 200);
  }
  // The fifth of uid 0 is closed unread; uid A still gets in.
  UnixHttpClient fifth = agent_->Client();
  EXPECT_NE(fifth.Get("/healthz").status, 200);
  const HttpResponse other = RequestAs(UserIdentity(kStrangerUid, kStrangerUid), agent_->socket(),
                                       "GET", "/healthz");
  EXPECT_EQ(other.status, 200) << other.error;
  held.pop_back();
  bool again = false;
  for (int i = 0; i < 50 && !again; ++i) {  // the agent notices the close on its next read
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    again = agent_->Client().Get("/healthz").status == 200;
  }
  EXPECT_TRUE(again) << "a closed connection's place is given back";
}

}  // namespace
}  // namespace dbproxy::testing
