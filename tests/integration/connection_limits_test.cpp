// Connection caps per peer uid: one local user holding thousands of idle connections on
// agent.sock (mode 0666) must not cut every other uid off. Before [agent]
// max_connections_per_uid, uid A's 2,000 idle connections filled the global cap (1,024) and
// every other caller's connection was closed unread.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
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

// How many of `fds` the peer has not closed, once that number has held for half a second (at
// most ~10 s).
int StillOpen(const std::vector<int>& fds) {
  int open = -1;
  int steady = 0;
  for (int round = 0; round < 100 && steady < 5; ++round) {
    std::vector<pollfd> polls;
    for (int fd : fds) polls.push_back({.fd = fd, .events = POLLIN, .revents = 0});
    ::poll(polls.data(), polls.size(), 0);
    const int now = static_cast<int>(std::count_if(
        polls.begin(), polls.end(), [](const pollfd& p) { return p.revents == 0; }));
    steady = now == open ? steady + 1 : 0;
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

int ConnectLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Everything the agent sends on `fd` until it closes (at most `seconds`); closes `fd`.
std::string ReadUntilClose(int fd, int seconds = 15) {
  timeval limit{.tv_sec = seconds, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  std::string in;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) {
    in.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return in;
}

int StatusOf(const std::string& answer) {
  return answer.rfind("HTTP/1.1 ", 0) == 0 && answer.size() >= 12 ? std::stoi(answer.substr(9, 3))
                                                                   : 0;
}

std::string RequestIdOf(const std::string& answer) {
  const std::size_t at = answer.find("X-Request-Id: ");
  return at == std::string::npos ? "" : answer.substr(at + 14, 16);
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
  TokenRound();  // the first grant and warm caches are not the quiet figure
  const auto [quiet, quiet_ok] = TokenRound();
  ASSERT_EQ(quiet_ok, kTokenRequests);

  // uid A holds its connections until `hold` closes, and counts what the agent kept once `go`
  // says the agent has refused the rest (under ASan it takes a while).
  int hold[2];
  int go[2];
  ASSERT_EQ(::pipe(hold), 0);
  ASSERT_EQ(::pipe(go), 0);
  RunAsResult flood;
  std::thread attacker([&] {
    flood = RunAs(
        UserIdentity(kStrangerUid, kStrangerUid),
        [&]() -> std::string {
          ::close(hold[1]);
          ::close(go[1]);
          rlimit files{};
          ::getrlimit(RLIMIT_NOFILE, &files);
          files.rlim_cur = files.rlim_max;
          ::setrlimit(RLIMIT_NOFILE, &files);
          const std::vector<int> fds =
              OpenIdleConnections(agent_->socket().string(), kIdleConnections);
          char signal;
          (void)::read(go[0], &signal, 1);
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
      "dbproxy_connections_refused_total{socket=\"agent\",cap=\"max_connections_per_uid\"}";
  double refused = -1;
  for (int i = 0; i < 300 && refused < kIdleConnections - kDefaultPerUidCap; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    refused = MetricSample(agent_->AdminClient().Get("/metrics").body, refused_line);
  }
  ::close(hold[0]);  // the child has its own copy by now
  ::close(go[0]);
  (void)::write(go[1], "g", 1);
  ::close(go[1]);
  const auto [loaded, loaded_ok] = TokenRound();
  const std::string metrics = agent_->AdminClient().Get("/metrics").body;
  ::close(hold[1]);
  attacker.join();

  ASSERT_TRUE(flood.ok) << flood.error;
  EXPECT_EQ(flood.output, std::to_string(kIdleConnections) + " " +
                              std::to_string(kDefaultPerUidCap));
  EXPECT_EQ(MetricSample(metrics, refused_line), kIdleConnections - kDefaultPerUidCap) << metrics;
  EXPECT_EQ(loaded_ok, kTokenRequests) << "another uid's requests failed while uid "
                                       << kStrangerUid << " held its connections";
  const std::int64_t quiet_p99 = P99(quiet);
  const std::int64_t loaded_p99 = P99(loaded);
  std::printf("token p99 quiet %lld us, with %d idle connections of another uid %lld us\n",
              static_cast<long long>(quiet_p99), kIdleConnections,
              static_cast<long long>(loaded_p99));
  EXPECT_LE(loaded_p99, 5 * quiet_p99 + 20000);
  const long rss = RssKib(agent_->process()->pid());
  std::printf("dbproxyd RSS %ld KiB while holding uid %d's connections\n", rss,
              static_cast<int>(kStrangerUid));
  EXPECT_LT(rss, 256 * 1024);
  EXPECT_NE(agent_->Stderr().find("max_connections_per_uid reached (uid " +
                                  std::to_string(kStrangerUid) + ")"),
            std::string::npos);
  // The held connections are gone: uid A may connect again.
  const HttpResponse after = RequestAs(UserIdentity(kStrangerUid, kStrangerUid), agent_->socket(),
                                       "GET", "/healthz");
  EXPECT_EQ(after.status, 200) << after.error;
}

// 200 slowloris connections of uid A (a head trickling one byte every 300 ms) while root keeps
// asking for tokens; then hostile inputs on agent.sock and the loopback listener. Each gets its
// answer and its audit line, and leaves nothing behind: connections back to zero, RSS bounded.
TEST_F(ConnectionLimitsTest, SlowlorisAndHostileInputsCostNothingLasting) {
  constexpr int kSlowloris = 200;
  const int port = FreeLoopbackPort();
  agent_->options().agent_section = "request_timeout_seconds = 2\n";
  agent_->options().loopback_section = "listen = \"127.0.0.1:" + std::to_string(port) + "\"\n";
  agent_->WriteConfig();
  ASSERT_TRUE(StartAndEnroll().ok());
  const pid_t pid = agent_->process()->pid();
  TokenRound();
  const auto [quiet, quiet_ok] = TokenRound();
  ASSERT_EQ(quiet_ok, kTokenRequests);
  const long rss_before = RssKib(pid);

  RunAsResult slow;
  std::thread attacker([&] {
    slow = RunAs(
        UserIdentity(kStrangerUid, kStrangerUid),
        [&]() -> std::string {
          std::vector<int> fds;
          for (int i = 0; i < kSlowloris; ++i) {
            const int fd = ConnectUnix(agent_->socket());
            if (fd < 0) break;
            SendAll(fd, "POST /v1/token HTTP/1.1\r\nHost: x\r\nX-Slow: ");
            fds.push_back(fd);
          }
          // One byte each every 300 ms: never a whole head.
          for (int round = 0; round < 12; ++round) {
            for (int fd : fds) SendAll(fd, "a");
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
          }
          int timed_out = 0;
          for (int fd : fds) timed_out += StatusOf(ReadUntilClose(fd, 5)) == 408 ? 1 : 0;
          return std::to_string(fds.size()) + " " + std::to_string(timed_out);
        },
        std::chrono::seconds(60));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto [loaded, loaded_ok] = TokenRound();
  attacker.join();
  ASSERT_TRUE(slow.ok) << slow.error;
  EXPECT_EQ(slow.output, std::to_string(kSlowloris) + " " + std::to_string(kSlowloris))
      << "connected, answered 408";
  EXPECT_EQ(loaded_ok, kTokenRequests);
  std::printf("token p99 quiet %lld us, beside %d slowloris connections %lld us\n",
              static_cast<long long>(P99(quiet)), kSlowloris, static_cast<long long>(P99(loaded)));
  EXPECT_LE(P99(loaded), 5 * P99(quiet) + 20000);

  // Hostile inputs, on both listeners that take client requests.
  std::mt19937 random(7);
  std::string noise(4096, '\0');
  for (char& c : noise) c = static_cast<char>(random());
  std::string endless_chunks = "POST /v1/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 200; ++i) endless_chunks += "400\r\n" + std::string(1024, '{') + "\r\n";
  struct Input {
    std::string name, bytes;
    int status;
  };
  const std::vector<Input> inputs = {
      {"100 KB header", "GET /v1/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " +
                            std::string(100 * 1024, 'a') + "\r\n\r\n", 413},
      {"10 GB Content-Length and no body",
       "POST /v1/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000000\r\n\r\n", 413},
      {"a chunked body that never ends", endless_chunks, 413},
      {"random bytes", noise, 400},
  };
  for (const bool loopback : {false, true}) {
    for (const Input& input : inputs) {
      SCOPED_TRACE(std::string(loopback ? "loopback: " : "agent.sock: ") + input.name);
      const int fd = loopback ? ConnectLoopback(port) : ConnectUnix(agent_->socket());
      ASSERT_GE(fd, 0);
      SendAll(fd, input.bytes);
      const std::string answer = ReadUntilClose(fd);
      EXPECT_EQ(StatusOf(answer), input.status) << answer.substr(0, 300);
      const std::string id = RequestIdOf(answer);
      ASSERT_EQ(id.size(), 16u) << answer.substr(0, 300);
      EXPECT_TRUE(WaitForAuditRecord(agent_->audit_file(), id).is_object())
          << "no audit record for " << id;
    }
  }
  // A request whose body never arrives: 408 after request_timeout_seconds, on both listeners.
  for (const bool loopback : {false, true}) {
    const int stalled = loopback ? ConnectLoopback(port) : ConnectUnix(agent_->socket());
    SendAll(stalled,
            "POST /v1/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{");
    EXPECT_EQ(StatusOf(ReadUntilClose(stalled)), 408) << (loopback ? "loopback" : "agent.sock");
  }

  // Nothing lasting: the agent's connections go back to none, its memory stays bounded.
  const std::string active = "dbproxy_active_connections{socket=\"agent\"}";
  const std::string loopback_active = "dbproxy_active_connections{socket=\"loopback\"}";
  double open = -1;
  double loopback_open = -1;
  for (int i = 0; i < 50 && (open != 0 || loopback_open != 0); ++i) {
    const std::string metrics = agent_->AdminClient().Get("/metrics").body;
    open = MetricSample(metrics, active);
    loopback_open = MetricSample(metrics, loopback_active);
    if (open != 0 || loopback_open != 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(open, 0);
  EXPECT_EQ(loopback_open, 0);
  const long rss_after = RssKib(pid);
  std::printf("dbproxyd RSS %ld KiB before, %ld KiB after the attacks\n", rss_before, rss_after);
  EXPECT_LT(rss_after, rss_before + 64 * 1024);
  UnixHttpClient client = agent_->Client();
  EXPECT_EQ(RequestToken(client, R"({"scope":"all-apis"})").status, 200);
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

// Loopback TCP: each service's share of the connections. root-tests (uid 0) may hold 3; a
// fourth is closed unread while uid 4343's service still connects.
TEST_F(ConnectionLimitsTest, LoopbackConnectionsAreCappedPerService) {
  const int port = FreeLoopbackPort();
  agent_->options().policy += "\n[[service]]\nname = \"stranger\"\nmatch = { uid = " +
                              std::to_string(kStrangerUid) + " }\n";
  agent_->options().loopback_section = "listen = \"127.0.0.1:" + std::to_string(port) +
                                       "\"\nmax_connections_per_service = 3\n";
  agent_->WriteConfig();
  ASSERT_TRUE(StartAgent().ok());
  const auto healthy = [](int fd) {
    if (fd < 0) return false;
    SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    return StatusOf(ReadUntilClose(fd, 5)) == 200;
  };
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(ConnectLoopback(port));
    ASSERT_GE(held.back(), 0);
  }
  // The agent attests each connection before it counts it: give it a moment.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(healthy(ConnectLoopback(port))) << "a fourth connection of root-tests was served";
  const RunAsResult other = RunAs(UserIdentity(kStrangerUid, kStrangerUid), [&]() -> std::string {
    return healthy(ConnectLoopback(port)) ? "served" : "refused";
  });
  EXPECT_EQ(other.output, "served") << other.error;
  const std::string metrics = agent_->AdminClient().Get("/metrics").body;
  EXPECT_EQ(MetricSample(metrics, "dbproxy_connections_refused_total{socket=\"loopback\",cap=\""
                            "max_connections_per_service\"}"),
            1)
      << metrics;
  for (int fd : held) ::close(fd);
  EXPECT_TRUE(WaitFor([&] { return healthy(ConnectLoopback(port)); }, std::chrono::seconds(5)))
      << "the closed connections' places were not given back";
}

}  // namespace
}  // namespace dbproxy::testing
