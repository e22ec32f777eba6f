// A policy reload while a proxied call waits for its body: the call must be decided against the
// policy it started with, and nothing it points into may be freed by the reload (under ASan a
// use-after-free kills the agent).
//
// The caller is the test process (root), service "production" with role "worker". Each reload
// writes a policy whose deny rule refuses sql.execute to that service (the condition reads the
// matched service), so a call decided against the new policy answers 403 "no-sql-after-reload".
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "tests/integration/harness/runtime_fixture.hpp"

namespace dbproxy::testing {
namespace {

constexpr char kRaceStatements[] = "/api/2.0/sql/statements";
constexpr char kBody[] = R"({"statement":"SELECT id, name FROM t","warehouse_id":"wh-1"})";

std::string PolicyText(int generation, bool deny_sql) {
  std::string text = "# generation " + std::to_string(generation) + "\n" +
                     "[[service]]\nname = \"production\"\nmatch = { uid = 0 }\n"
                     "workspace = \"" + kWorkspace + "\"\nroles = [\"worker\"]\n\n" +
                     "[[role]]\nname = \"worker\"\ncredential = \"" + kCredential + "\"\n" +
                     "actions = [\"sql.*\", \"clusters.*\"]\n\n";
  if (deny_sql) {
    text += "[[rule]]\nid = \"no-sql-after-reload\"\neffect = \"deny\"\n"
            "actions = [\"sql.execute\"]\nwhen = { \"service.name\" = \"production\" }\n";
  }
  return text;
}

// A raw connection to agent.sock, so the body can be sent a few bytes at a time.
class RawConnection {
 public:
  explicit RawConnection(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    if (fd_ >= 0 &&
        ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    timeval timeout{.tv_sec = 20, .tv_usec = 0};
    if (fd_ >= 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool ok() const { return fd_ >= 0; }
  bool Send(const std::string& data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(data.size());
  }
  // Everything the agent sends until it closes (the request says Connection: close).
  std::string ReadAll() {
    std::string out;
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return out;
      out.append(buffer, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
};

class PolicyReloadRaceTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    agent_->options().policy = PolicyText(0, false);
    agent_->WriteConfig();
    const HarnessStatus started = StartAndEnroll();
    ASSERT_TRUE(started.ok()) << started.error;
  }

  void Reload(int generation) {
    WriteFile(agent_->policy_dir() / "test.toml", PolicyText(generation, true), 0644);
    const HttpResponse reloaded = agent_->AdminClient().Post("/v1/reload", "");
    ASSERT_EQ(reloaded.status, 200) << reloaded.Describe();
  }
};

TEST_F(PolicyReloadRaceTest, SlowBodyCallIsDecidedAgainstThePolicyItStartedWith) {
  RawConnection connection(agent_->socket().string());
  ASSERT_TRUE(connection.ok());
  const std::string body = kBody;
  ASSERT_TRUE(connection.Send(std::string("POST ") + kRaceStatements + " HTTP/1.1\r\n" +
                              "Host: localhost\r\nContent-Type: application/json\r\n" +
                              "Content-Length: " + std::to_string(body.size()) +
                              "\r\nConnection: close\r\n\r\n"));
  // The agent has matched the service and waits for the body: reload several times while
  // the body trickles in.
  constexpr int kReloads = 5;
  const std::size_t piece = body.size() / (kReloads + 1);
  for (int i = 0; i < kReloads; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(connection.Send(body.substr(static_cast<std::size_t>(i) * piece, piece)));
    Reload(i + 1);
  }
  ASSERT_TRUE(connection.Send(body.substr(kReloads * piece)));
  const std::string answer = connection.ReadAll();

  EXPECT_EQ(agent_->Stderr().find("AddressSanitizer"), std::string::npos) << agent_->Stderr();
  ASSERT_TRUE(agent_->running()) << "the agent died: " << agent_->Stderr();
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0U) << answer;
  EXPECT_NE(answer.find("SUCCEEDED"), std::string::npos) << answer;

  // A call that starts now meets the reloaded policy.
  UnixHttpClient client = agent_->Client();
  const HttpResponse refused =
      client.Request("POST", kRaceStatements, body, {{"Content-Type", "application/json"}});
  EXPECT_EQ(refused.status, 403) << refused.Describe();
  EXPECT_EQ(refused.Json()["error"].value("rule", ""), "no-sql-after-reload") << refused.body;
}

}  // namespace
}  // namespace dbproxy::testing
