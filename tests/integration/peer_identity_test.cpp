// Whose identity a connection carries once its connector is gone. SO_PEERCRED names the process
// that called connect(); the connection itself may outlive it: passed to another process with
// SCM_RIGHTS, or inherited by a child. A connector that has exited but is not yet reaped (a
// zombie) still has a readable /proc/<pid>/status with its uid, so the agent must check on
// every request that the process is alive, not only that its /proc files can be read.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <functional>
#include <sstream>
#include <thread>

#include "tests/integration/harness/integration_fixture.hpp"
#include "tests/integration/harness/run_as.hpp"

namespace dbproxy::testing {
namespace {

constexpr uid_t kOwnerUid = kServiceUid;    // the connector, matched by uid in OwnerPolicy()
constexpr uid_t kHolderUid = kStrangerUid;  // receives the connection, matches no service

std::string OwnerPolicy() {
  return DefaultPolicy() + "\n[[service]]\nname = \"fd-owner\"\nmatch = { uid = " +
         std::to_string(kOwnerUid) + " }\nworkspace = \"" + kWorkspace + "\"\nroles = [\"etl\"]\n";
}

struct RawResponse {
  int status = 0;  // 0: no answer (see error)
  std::string body;
  std::string error;
};

// One HTTP/1.1 request on a connection this process did not necessarily open itself (the
// harness client only connects by path). The agent answers with Content-Length.
RawResponse Exchange(int fd, const std::string& method, const std::string& target,
                     const std::string& body = "") {
  RawResponse response;
  const timeval timeout{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const std::string request = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n" +
                              "Content-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    response.error = std::string("send: ") + std::strerror(errno);
    return response;
  }
  std::string text;
  std::size_t head_end = std::string::npos;
  std::size_t length = 0;
  for (;;) {
    if (head_end == std::string::npos && (head_end = text.find("\r\n\r\n")) != std::string::npos) {
      std::string head = text.substr(0, head_end);
      for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const std::size_t at = head.find("\r\ncontent-length:");
      length = at == std::string::npos ? 0 : std::stoul(head.substr(at + 17));
      response.status = std::stoi(text.substr(9, 3));
    }
    if (head_end != std::string::npos && text.size() >= head_end + 4 + length) break;
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      response.status = 0;
      response.error = n == 0 ? "connection closed" : std::string("recv: ") + std::strerror(errno);
      return response;
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  response.body = text.substr(head_end + 4, length);
  return response;
}

nlohmann::json ToJson(const RawResponse& r) {
  return {{"status", r.status}, {"body", r.body}, {"error", r.error}};
}


// The State: letter of /proc/<pid>/status ('?' when unreadable).
char ProcState(pid_t pid) {
  const std::string status = ReadFile("/proc/" + std::to_string(pid) + "/status");
  const std::size_t at = status.find("\nState:\t");
  return at == std::string::npos ? '?' : status[at + 8];
}

// A child of the test that runs `fn` as `who` and exits with its result, and that the test
// does not reap until the destructor: after it exits it stays a zombie.
class UnreapedChild {
 public:
  UnreapedChild(const Identity& who, const std::function<int()>& fn) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const char* step = "";
      if (internal::ApplyIdentityInChild(who, {}, &step) != 0) ::_exit(100);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // after the uid change, which clears it
      ::_exit(fn());
    }
  }
  ~UnreapedChild() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  UnreapedChild(const UnreapedChild&) = delete;
  UnreapedChild& operator=(const UnreapedChild&) = delete;

  pid_t pid() const { return pid_; }
  // Waits for the exit without reaping (WNOWAIT); its exit code, or -1 after `timeout`.
  int WaitExited(std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid_) {
        return info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

class PeerIdentityTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    agent_->options().policy = OwnerPolicy();
    agent_->WriteConfig();
  }

  // The audit records of requests attested as process `pid` that were allowed, once the
  // trail has at least `min_lines` lines and has settled.
  int AllowedAuditLinesOf(pid_t pid, std::size_t min_lines) {
    const auto lines = [&] {
      std::vector<nlohmann::json> records;
      std::istringstream in(ReadFile(agent_->audit_file()));
      for (std::string line; std::getline(in, line);) {
        if (!line.empty()) records.push_back(nlohmann::json::parse(line, nullptr, false));
      }
      return records;
    };
    EXPECT_TRUE(WaitFor([&] { return lines().size() >= min_lines; }, std::chrono::seconds(3)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    int allowed = 0;
    for (const nlohmann::json& record : lines()) {
      if (record.is_object() && record.value("pid", -1) == pid &&
          record.value("decision", "") == "allow") {
        ++allowed;
      }
    }
    return allowed;
  }

  std::size_t AuditLines() {
    const std::string text = ReadFile(agent_->audit_file());
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  }
};

// The agent's answer to a request whose attested process is gone. (The brief that asked for
// this says 401; the project maps kUnidentified to 403 in error_mapping.cpp, docs/security.md.)
void ExpectCallerGone(const nlohmann::json& response, const std::string& what) {
  EXPECT_EQ(response.value("status", 0), 403) << what << ": " << response.dump();
  const auto body = nlohmann::json::parse(response.value("body", ""), nullptr, false);
  ASSERT_TRUE(body.is_object()) << what << ": " << response.dump();
  const nlohmann::json error = body.value("error", nlohmann::json::object());
  EXPECT_EQ(error.value("code", ""), "unidentified") << what << ": " << response.dump();
  EXPECT_EQ(error.value("message", ""), "the calling process is gone") << what;
  EXPECT_FALSE(body.contains("access_token")) << what;
  EXPECT_FALSE(body.contains("uid")) << what << ": whoami answered: " << response.dump();
}

TEST_F(PeerIdentityTest, ConnectionPassedByZombieConnectorIsRefused) {
  const HarnessStatus enrolled = StartAndEnroll();
  ASSERT_TRUE(enrolled.ok()) << enrolled.error;
  int channel[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel), 0);
  const std::string socket = agent_->socket().string();
  const std::size_t audit_start = AuditLines();

  UnreapedChild connector(UserIdentity(kOwnerUid, kOwnerUid), [&] {
    const std::vector<int> connections = {ConnectUnix(socket), ConnectUnix(socket)};
    // One answered request on each: both are attested as this process before it leaves.
    for (int fd : connections) {
      if (Exchange(fd, "GET", "/v1/whoami").status != 200) return 2;
    }
    return SendFd(channel[1], connections[0]) && SendFd(channel[1], connections[1]) ? 0 : 3;
  });
  ::close(channel[1]);
  ASSERT_EQ(connector.WaitExited(std::chrono::seconds(10)), 0);
  ASSERT_EQ(ProcState(connector.pid()), 'Z') << "the connector should be an unreaped zombie";

  const RunAsResult held = RunAs(UserIdentity(kHolderUid, kHolderUid), [&] {
    const int token_connection = ReceiveFd(channel[0]);
    const int whoami_connection = ReceiveFd(channel[0]);
    if (token_connection < 0 || whoami_connection < 0) return std::string("{}");
    return nlohmann::json{
        {"token", ToJson(Exchange(token_connection, "POST", "/v1/token", "{}"))},
        {"whoami", ToJson(Exchange(whoami_connection, "GET", "/v1/whoami"))}}
        .dump();
  });
  ::close(channel[0]);
  ASSERT_TRUE(held.ok) << held.error;
  const auto results = nlohmann::json::parse(held.output, nullptr, false);
  ASSERT_TRUE(results.is_object() && results.contains("token")) << held.output;
  ExpectCallerGone(results["token"], "token");
  ExpectCallerGone(results["whoami"], "whoami");
  // Only the connector's own two whoami requests were allowed in its name.
  EXPECT_EQ(AllowedAuditLinesOf(connector.pid(), audit_start + 2), 2)
      << ReadFile(agent_->audit_file());
}

// Makes the test process the reaper of its orphaned grandchildren for one test.
class ChildSubreaper {
 public:
  ChildSubreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
  ~ChildSubreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }
  ChildSubreaper(const ChildSubreaper&) = delete;
  ChildSubreaper& operator=(const ChildSubreaper&) = delete;
};

// Reads everything from `fd` until EOF or `timeout`.
std::string ReadUntilEof(int fd, std::chrono::milliseconds timeout) {
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd wait{.fd = fd, .events = POLLIN, .revents = 0};
    if (::poll(&wait, 1, 100) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

TEST_F(PeerIdentityTest, ConnectionInheritedFromExitedParentIsRefused) {
  const HarnessStatus enrolled = StartAndEnroll();
  ASSERT_TRUE(enrolled.ok()) << enrolled.error;
  const ChildSubreaper subreaper;
  int results[2];
  ASSERT_EQ(::pipe2(results, O_CLOEXEC), 0);
  const std::string socket = agent_->socket().string();
  const std::size_t audit_start = AuditLines();

  UnreapedChild parent(UserIdentity(kOwnerUid, kOwnerUid), [&] {
    const int connection = ConnectUnix(socket);
    if (Exchange(connection, "GET", "/v1/whoami").status != 200) return 2;
    const pid_t parent_pid = ::getpid();
    const pid_t child = ::fork();
    if (child == 0) {
      // Use the connection once the parent has exited (and this child was reparented).
      for (int i = 0; i < 1000 && ::getppid() == parent_pid; ++i) ::usleep(10'000);
      nlohmann::json answer = ToJson(Exchange(connection, "POST", "/v1/token", "{}"));
      answer["pid"] = ::getpid();
      const std::string text = answer.dump();
      (void)!::write(results[1], text.data(), text.size());
      ::_exit(0);
    }
    return child > 0 ? 0 : 3;
  });
  ::close(results[1]);
  ASSERT_EQ(parent.WaitExited(std::chrono::seconds(10)), 0);
  const std::string answer = ReadUntilEof(results[0], std::chrono::seconds(15));
  ::close(results[0]);
  const auto response = nlohmann::json::parse(answer, nullptr, false);
  ASSERT_TRUE(response.is_object()) << answer;
  // The child was reparented to this process (the subreaper) and has exited: reap it.
  EXPECT_EQ(::waitpid(response.value("pid", -1), nullptr, 0), response.value("pid", -1));
  ASSERT_EQ(ProcState(parent.pid()), 'Z') << "the parent should be an unreaped zombie";
  ExpectCallerGone(response, "token");
  EXPECT_EQ(AllowedAuditLinesOf(parent.pid(), audit_start + 1), 1)
      << ReadFile(agent_->audit_file());
}

TEST_F(PeerIdentityTest, LiveKeepAliveCallerIsServedOnEveryRequest) {
  const HarnessStatus enrolled = StartAndEnroll();
  ASSERT_TRUE(enrolled.ok()) << enrolled.error;
  const std::string socket = agent_->socket().string();
  const RunAsResult run = RunAs(UserIdentity(kOwnerUid, kOwnerUid), [&] {
    UnixHttpClient client(socket);
    nlohmann::json statuses = nlohmann::json::array();
    for (int i = 0; i < 4; ++i) statuses.push_back(client.Post("/v1/token", "{}").status);
    statuses.push_back(client.Get("/v1/whoami").status);
    statuses.push_back(client.requests_on_connection());
    return statuses.dump();
  });
  ASSERT_TRUE(run.ok) << run.error;
  EXPECT_EQ(run.output, "[200,200,200,200,200,5]");
}

}  // namespace
}  // namespace dbproxy::testing
