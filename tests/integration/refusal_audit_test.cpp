// Answers given before a handler runs are audited like every other answer: an oversize head or
// body (413), a malformed request (400), a caller that changed identity between connect and
// request (403), a request that began but did not arrive in time (408) — exactly one chained
// line each, on both sockets, with the status and error code the caller saw. An idle
// connection that closes without a request is not a request and leaves no line.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>

#include "tests/integration/harness/integration_fixture.hpp"

namespace dbproxy::testing {
namespace {

struct RawAnswer {
  int status = 0;  // 0: no answer came
  std::string request_id;
  std::string code;  // error.code of the JSON body
};

void SendAll(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
}

// Reads one answer on `fd`: up to the end of its Content-Length body, or with `until_close`
// until the agent closes the connection.
RawAnswer ReadAnswer(int fd, bool until_close) {
  RawAnswer answer;
  timeval limit{.tv_sec = 15, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  std::string in;
  std::size_t want = std::string::npos;
  char buffer[4096];
  while (in.size() < want) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    in.append(buffer, static_cast<std::size_t>(n));
    const std::size_t end = in.find("\r\n\r\n");
    const std::size_t length = in.find("Content-Length: ");
    if (!until_close && end != std::string::npos && length != std::string::npos) {
      want = end + 4 + std::stoul(in.substr(length + 16));
    }
  }
  if (in.rfind("HTTP/1.1 ", 0) != 0 || in.size() < 12) return answer;
  answer.status = std::stoi(in.substr(9, 3));
  const std::size_t end = in.find("\r\n\r\n");
  std::istringstream head(in.substr(0, end));
  for (std::string line; std::getline(head, line);) {
    if (strncasecmp(line.c_str(), "x-request-id: ", 14) == 0) {
      answer.request_id = line.substr(14, 16);
    }
  }
  if (end != std::string::npos) {
    const nlohmann::json body = nlohmann::json::parse(in.substr(end + 4), nullptr, false);
    if (body.is_object() && body.contains("error")) answer.code = body["error"].value("code", "");
  }
  return answer;
}

// Sends `bytes` on `fd` (owned, closed here) and reads until the agent closes the connection.
RawAnswer Exchange(int fd, const std::string& bytes) {
  if (fd < 0) return {};
  SendAll(fd, bytes);
  RawAnswer answer = ReadAnswer(fd, true);
  ::close(fd);
  return answer;
}

RawAnswer SendRaw(const std::filesystem::path& socket, const std::string& bytes) {
  return Exchange(ConnectUnix(socket), bytes);
}

std::vector<nlohmann::json> Lines(const std::filesystem::path& file) {
  std::vector<nlohmann::json> out;
  std::istringstream in(ReadFile(file));
  for (std::string line; std::getline(in, line);) {
    out.push_back(nlohmann::json::parse(line, nullptr, false));
  }
  return out;
}

std::vector<nlohmann::json> LinesWithId(const std::filesystem::path& file, const std::string& id) {
  std::vector<nlohmann::json> out;
  for (nlohmann::json& line : Lines(file)) {
    if (line.is_object() && line.value("request_id", "") == id) out.push_back(std::move(line));
  }
  return out;
}

struct Case {
  std::string name;
  bool admin = false;
  std::string bytes;
  int status = 0;
  std::string code;
  std::string method;  // "" when the head could not be parsed
  std::string path;
  std::string decision = "error";
};

class RefusalAuditTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    std::string config = ReadFile(agent_->config_file());
    config.replace(config.find("[agent]\n"), 8,
                   "[agent]\nidle_timeout_seconds = 2\nrequest_timeout_seconds = 1\n");
    config.replace(config.find("[audit]\n"), 8, "[audit]\njournald = false\n");
    WriteFile(agent_->config_file(), config, 0644);
  }

  std::filesystem::path Socket(bool admin) const {
    return admin ? agent_->admin_socket() : agent_->socket();
  }

  // The one line for `answer` (waits for it); a failure names the case.
  void ExpectOneLine(const Case& c, const RawAnswer& answer) {
    ASSERT_EQ(answer.status, c.status) << c.name;
    EXPECT_EQ(answer.code, c.code) << c.name;
    ASSERT_EQ(answer.request_id.size(), 16u) << c.name;
    std::vector<nlohmann::json> lines;
    WaitFor(
        [&] {
          lines = LinesWithId(agent_->audit_file(), answer.request_id);
          return !lines.empty();
        },
        std::chrono::seconds(3));
    ASSERT_EQ(lines.size(), 1u) << c.name << ": no single audit line for " << answer.request_id;
    const nlohmann::json& line = lines.front();
    EXPECT_EQ(line.value("socket", ""), c.admin ? "admin" : "agent") << c.name;
    EXPECT_EQ(line.value("status", 0), c.status) << c.name << ": " << line.dump();
    EXPECT_EQ(line.value("error", ""), c.code) << c.name << ": " << line.dump();
    EXPECT_EQ(line.value("decision", ""), c.decision) << c.name << ": " << line.dump();
    EXPECT_EQ(line.value("method", ""), c.method) << c.name << ": " << line.dump();
    EXPECT_EQ(line.value("path", ""), c.path) << c.name << ": " << line.dump();
    EXPECT_EQ(line.value("uid", -1), 0) << c.name;
    EXPECT_GT(line.value("pid", 0), 0) << c.name;
    EXPECT_TRUE(line.contains("latency_us")) << c.name;
  }

  void ExpectChainVerifies() {
    const CtlResult verified = MakeCtl().Run({"audit", "verify", agent_->audit_file().string()});
    EXPECT_EQ(verified.exit_code, 0) << verified.Describe();
  }
};

std::vector<Case> MalformedCases(bool admin) {
  const std::string body_path = admin ? "/v1/grants" : "/v1/token";
  const std::string side = admin ? "admin " : "agent ";
  return {
      {side + "header over the limit", admin,
       "GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n", 413,
       "payload_too_large", "", ""},
      {side + "body over the limit", admin,
       "POST " + body_path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n{", 413,
       "payload_too_large", "POST", body_path},
      {side + "malformed request line", admin, "GARBAGE\r\n\r\n", 400, "invalid_request", "", ""},
      {side + "malformed header", admin, "GET /v1/status HTTP/1.1\r\nNo colon here\r\n\r\n", 400,
       "invalid_request", "", ""},
      {side + "malformed chunked body", admin,
       "POST " + body_path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       400, "invalid_request", "POST", body_path},
      // A handler's own error, for comparison: its code comes from the same Error.
      {side + "unknown endpoint", admin, "GET /v1/nothing HTTP/1.1\r\nConnection: close\r\n\r\n",
       404, "not_found", "GET", "/v1/nothing"},
  };
}

TEST_F(RefusalAuditTest, EachRefusalOnEitherSocketIsOneChainedLine) {
  ASSERT_TRUE(StartAgent().ok());
  for (const bool admin : {false, true}) {
    for (const Case& c : MalformedCases(admin)) {
      ExpectOneLine(c, SendRaw(Socket(admin), c.bytes));
    }
  }
  ExpectChainVerifies();
}

TEST_F(RefusalAuditTest, RequestThatBeganAndTimedOutIs408AndAudited) {
  ASSERT_TRUE(StartAgent().ok());
  std::vector<Case> cases;
  for (const bool admin : {false, true}) {
    const std::string side = admin ? "admin " : "agent ";
    const std::string path = admin ? "/v1/grants" : "/v1/token";
    cases.push_back({side + "head cut short", admin, "GET /v1/status HTTP/1.1\r\nHost: x\r\n", 408,
                     "request_timeout", "", ""});
    cases.push_back({side + "body cut short", admin,
                     "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\"",
                     408, "request_timeout", "POST", path});
  }
  const std::size_t before = Lines(agent_->audit_file()).size();
  std::vector<RawAnswer> answers(cases.size());
  std::vector<std::thread> senders;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    senders.emplace_back([&, i] { answers[i] = SendRaw(Socket(cases[i].admin), cases[i].bytes); });
  }
  // Idle connections, one silent and one after an answered keep-alive request: the agent closes
  // them after idle_timeout_seconds without a line of their own.
  RawAnswer silent[2];
  RawAnswer kept[2];
  for (const bool admin : {false, true}) {
    senders.emplace_back([&, admin] { silent[admin] = SendRaw(Socket(admin), ""); });
    senders.emplace_back([&, admin] {
      kept[admin] = SendRaw(Socket(admin), "GET /v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n");
    });
  }
  for (std::thread& sender : senders)
    sender.join();
  for (std::size_t i = 0; i < cases.size(); ++i)
    ExpectOneLine(cases[i], answers[i]);
  for (const bool admin : {false, true}) {
    EXPECT_EQ(silent[admin].status, 0) << "an idle connection got an answer";
    EXPECT_EQ(kept[admin].status, 404);
    EXPECT_EQ(LinesWithId(agent_->audit_file(), kept[admin].request_id).size(), 1u);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Lines(agent_->audit_file()).size(), before + cases.size() + 2)
      << ReadFile(agent_->audit_file());
  ExpectChainVerifies();
}

TEST_F(RefusalAuditTest, CallerThatChangedItsUserIsRefusedAndAudited) {
  ASSERT_TRUE(StartAgent().ok());
  for (const bool admin : {false, true}) {
    const std::filesystem::path socket = Socket(admin);
    // Connects as root, then becomes another user before its second request: re-attestation
    // refuses that one.
    const RunAsResult run = RunAs(Identity{}, [&] {
      const int fd = ConnectUnix(socket);
      // One answered request first: the agent has attested the connection (as root) by then.
      SendAll(fd, "GET /v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n");
      if (ReadAnswer(fd, false).status != 404) return std::string("no first answer");
      if (::setresuid(kStrangerUid, kStrangerUid, kStrangerUid) != 0) {
        return std::string("setresuid");
      }
      const RawAnswer answer = Exchange(fd, "GET /v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n");
      return std::to_string(answer.status) + " " + answer.request_id + " " + answer.code;
    });
    ASSERT_TRUE(run.ok) << run.error;
    std::istringstream fields(run.output);
    RawAnswer answer;
    fields >> answer.status >> answer.request_id >> answer.code;
    ExpectOneLine({std::string(admin ? "admin" : "agent") + " re-attestation", admin, "", 403,
                   "unidentified", "GET", "/v1/whoami", "deny"},
                  answer);
  }
  ExpectChainVerifies();
}

TEST_F(RefusalAuditTest, RefusalWhileTheTrailIsDownIsAudit503) {
  const std::filesystem::path logs = agent_->dir() / "logs";
  std::string config = ReadFile(agent_->config_file());
  const std::string old_file = "file = \"" + agent_->audit_file().string() + "\"";
  ASSERT_NE(config.find(old_file), std::string::npos) << config;
  config.replace(config.find(old_file), old_file.size(),
                 "file = \"" + (logs / "audit.log").string() + "\"");
  WriteFile(agent_->config_file(), config, 0644);
  ASSERT_TRUE(StartAgent().ok());
  UnixHttpClient client = agent_->Client();
  ASSERT_EQ(client.Get("/v1/whoami").status, 200);
  std::filesystem::remove_all(logs);
  WriteFile(logs, "not a directory", 0644);
  ASSERT_TRUE(
      WaitFor([&] { return client.Get("/v1/whoami").status == 503; }, std::chrono::seconds(5)));
  for (const bool admin : {false, true}) {
    const RawAnswer refused = SendRaw(Socket(admin), "GARBAGE\r\n\r\n");
    EXPECT_EQ(refused.status, 503) << admin;
    EXPECT_EQ(refused.code, "audit_unavailable") << admin;
  }
}

}  // namespace
}  // namespace dbproxy::testing
