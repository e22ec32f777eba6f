// The loopback TCP listener for unmodified Databricks clients: the SDKs' metadata-service
// endpoint and proxy mode over 127.0.0.1 / [::1], each caller identified from the kernel
// (NETLINK_SOCK_DIAG and /proc) exactly as on agent.sock, never trusted for being local.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "tests/integration/harness/integration_fixture.hpp"
#include "tests/integration/harness/run_as.hpp"

namespace dbproxy::testing {
namespace {

constexpr uid_t kUidOnlyService = 4244;  // matched by uid alone ("by-uid")

std::string LoopbackPolicy() {
  const std::string etl = std::string("[[role]]\nname = \"etl\"\ncredential = \"") + kCredential +
                          "\"\nactions = [\"token:all-apis\", \"token:sql\", \"clusters.read\", "
                          "\"scim.me\"]\n\n";
  return std::string("[[service]]\nname = \"") + kService + "\"\nmatch = { unit = \"" + kUnit +
         "\" }\nworkspace = \"" + kWorkspace + "\"\nroles = [\"etl\"]\n\n" +
         "[[service]]\nname = \"by-uid\"\nmatch = { uid = " + std::to_string(kUidOnlyService) +
         " }\nworkspace = \"" + kWorkspace +
         "\"\nroles = [\"etl\"]\nmetadata_scope = \"sql\"\n\n"
         "[[service]]\nname = \"root-tests\"\nmatch = { uid = 0 }\nworkspace = \"" +
         kWorkspace + "\"\nroles = [\"etl\"]\n\n" + etl;
}

class LoopbackTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    port_ = FreeLoopbackPort();
    address_ = "127.0.0.1:" + std::to_string(port_);
    agent_->options().policy = LoopbackPolicy();
    agent_->options().loopback_section = "listen = \"" + address_ + "\"\n";
    agent_->WriteConfig();
  }

  void Start() {
    const HarnessStatus started = StartAndEnroll();
    ASSERT_TRUE(started.ok()) << started.error;
  }

  HttpHeaders MetadataHeaders(const std::string& host) const {
    return {{"Host", address_},
            {"X-Databricks-Metadata-Version", "1"},
            {"X-Databricks-Host", host}};
  }

  // GET /metadata/token as `who`, over a fresh loopback connection.
  HttpResponse MetadataAs(const Identity& who, const HttpHeaders& headers) {
    const std::string address = address_;
    const RunAsResult run = RunAs(who, [&] {
      UnixHttpClient client(address);
      const HttpResponse r = client.Request("GET", "/metadata/token", "", headers);
      return nlohmann::json{{"status", r.status}, {"body", r.body}, {"error", r.error}}.dump();
    });
    HttpResponse out;
    if (!run.ok) {
      out.error = run.error;
      return out;
    }
    const nlohmann::json j = nlohmann::json::parse(run.output);
    out.status = j["status"].get<int>();
    out.body = j["body"].get<std::string>();
    out.error = j["error"].get<std::string>();
    return out;
  }

  // The audit record with this request id (null when none is there yet).
  nlohmann::json AuditFor(const std::string& id) {
    nlohmann::json found;
    WaitFor([&] {
      std::istringstream in(ReadFile(agent_->audit_file()));
      for (std::string line; std::getline(in, line);) {
        nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
        if (record.is_object() && record.value("request_id", "") == id) found = record;
      }
      return found.is_object();
    }, std::chrono::seconds(3));
    return found;
  }

  int port_ = 0;
  std::string address_;
};

TEST_F(LoopbackTest, ServiceGetsItsTokenThroughTheMetadataProtocol) {
  Start();
  const HttpResponse r = MetadataAs(UserIdentity(kUidOnlyService, kUidOnlyService),
                                    MetadataHeaders(fake_->url()));
  ASSERT_EQ(r.status, 200) << r.Describe();
  const nlohmann::json body = r.Json();
  ASSERT_TRUE(body["access_token"].is_string()) << r.body;
  RecordToken(body["access_token"].get<std::string>());
  EXPECT_EQ(body.value("token_type", ""), "Bearer");
  ASSERT_TRUE(body["expires_on"].is_number_integer()) << r.body;
  EXPECT_GE(body["expires_on"].get<std::int64_t>(), static_cast<std::int64_t>(::time(nullptr)) + 60);
  // The token works against the workspace, and its scope is the service's metadata_scope.
  const HttpResponse me = HttpsCall("GET", fake_->url() + kMePath, fake_->ca_file(), "",
                                    body["access_token"].get<std::string>());
  EXPECT_EQ(me.status, 200) << me.Describe();
  UnixHttpClient admin = agent_->AdminClient();
  const nlohmann::json tokens = admin.Get("/v1/tokens").Json();
  EXPECT_NE(tokens.dump().find("\"sql\""), std::string::npos) << tokens.dump();
}

TEST_F(LoopbackTest, ServiceInItsUnitCgroupIsIdentifiedAndAudited) {
  Start();
  Identity service;
  if (const std::string why = MakeServiceIdentity(&service); !why.empty()) GTEST_SKIP() << why;
  const HttpResponse r = MetadataAs(service, MetadataHeaders(fake_->url()));
  ASSERT_EQ(r.status, 200) << r.Describe();
  RecordToken(r.Json().value("access_token", ""));
  // The audit says which listener, who and what.
  bool seen = false;
  WaitFor([&] { return ReadFile(agent_->audit_file()).find("\"loopback\"") != std::string::npos; },
          std::chrono::seconds(3));
  std::istringstream lines(ReadFile(agent_->audit_file()));
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (!record.is_object() || record.value("socket", "") != "loopback") continue;
    seen = true;
    EXPECT_EQ(record.value("service", ""), kService) << line;
    EXPECT_EQ(record.value("uid", -1), static_cast<int>(kServiceUid)) << line;
    EXPECT_EQ(record.value("unit", ""), kUnit) << line;
    EXPECT_EQ(record.value("action", ""), "token:all-apis") << line;
    EXPECT_EQ(record.value("decision", ""), "allow") << line;
  }
  EXPECT_TRUE(seen) << ReadFile(agent_->audit_file());
}

TEST_F(LoopbackTest, CallerMatchingNoServiceIsRefused) {
  Start();
  const HttpResponse r =
      MetadataAs(UserIdentity(kStrangerUid, kStrangerUid), MetadataHeaders(fake_->url()));
  EXPECT_EQ(r.status, 403) << r.Describe();
  EXPECT_EQ(r.Json()["error"].value("code", ""), "unidentified") << r.body;
}

TEST_F(LoopbackTest, ProtocolErrorsAre4xxButNever404) {
  Start();
  const Identity who = UserIdentity(kUidOnlyService, kUidOnlyService);
  struct Case {
    HttpHeaders headers;
    int status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {{{"Host", address_}, {"X-Databricks-Host", fake_->url()}}, 400, "invalid_request"},
      {{{"Host", address_}, {"X-Databricks-Metadata-Version", "2"},
        {"X-Databricks-Host", fake_->url()}}, 400, "invalid_request"},
      {{{"Host", address_}, {"X-Databricks-Metadata-Version", "1"}}, 400, "invalid_request"},
      {MetadataHeaders("https://unknown.example.com"), 403, "unknown_workspace"},
      {MetadataHeaders("not a url"), 400, "invalid_request"},
      {{{"Host", "evil.example.com"}, {"X-Databricks-Metadata-Version", "1"},
        {"X-Databricks-Host", fake_->url()}}, 403, "forbidden"},
  };
  for (const Case& c : cases) {
    const HttpResponse r = MetadataAs(who, c.headers);
    EXPECT_EQ(r.status, c.status) << r.Describe();
    EXPECT_NE(r.status, 404);
    EXPECT_EQ(r.Json()["error"].value("code", ""), c.code) << r.body;
  }
}

TEST_F(LoopbackTest, StrangerPassingItsConnectionOnIsStillRefused) {
  Start();
  int channel[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel), 0);
  const std::string address = address_;
  // The stranger connects and hands the connection to a process of a matching uid.
  const RunAsResult connector = RunAs(UserIdentity(kStrangerUid, kStrangerUid), [&] {
    UnixHttpClient client(address);
    if (!client.Connect().ok()) return std::string("connect failed");
    // The client's fd is the lowest fd above those inherited: find it through /proc.
    for (int fd = 3; fd < 1024; ++fd) {
      char target[64] = {};
      const std::string link = "/proc/self/fd/" + std::to_string(fd);
      const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
      if (n <= 0 || std::string(target).rfind("socket:", 0) != 0 || fd == channel[0] ||
          fd == channel[1]) {
        continue;
      }
      sockaddr_storage peer{};
      socklen_t length = sizeof peer;
      if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0 ||
          peer.ss_family != AF_INET) {
        continue;
      }
      return std::string(SendFd(channel[0], fd) ? "sent" : "send failed");
    }
    return std::string("no connection found");
  });
  ASSERT_TRUE(connector.ok) << connector.error;
  ASSERT_EQ(connector.output, "sent");
  const RunAsResult holder = RunAs(UserIdentity(kUidOnlyService, kUidOnlyService), [&] {
    const int fd = ReceiveFd(channel[1]);
    if (fd < 0) return std::string("0");
    const std::string request =
        "GET /metadata/token HTTP/1.1\r\nHost: " + address +
        "\r\nX-Databricks-Metadata-Version: 1\r\nX-Databricks-Host: " + fake_->url() + "\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) return std::string("0");
    char answer[64] = {};
    if (::recv(fd, answer, sizeof answer - 1, 0) < 12) return std::string("0");
    return std::string(answer + 9, 3);
  });
  ::close(channel[0]);
  ::close(channel[1]);
  ASSERT_TRUE(holder.ok) << holder.error;
  EXPECT_EQ(holder.output, "403") << "the connection's creator is the stranger";
  EXPECT_TRUE(IssuedTokens().empty());
}

TEST_F(LoopbackTest, ProxyModeDecidesByTheCallerAndDropsItsToken) {
  Start();
  ASSERT_EQ(fake_->Control("POST", "/_fake/reset").status, 200);
  const std::string address = address_;
  const RunAsResult run = RunAs(UserIdentity(kUidOnlyService, kUidOnlyService), [&] {
    UnixHttpClient client(address);
    const HttpHeaders headers = {{"Host", address}, {"Authorization", "Bearer dummy"}};
    const HttpResponse listed = client.Request("GET", "/api/2.1/clusters/list", "", headers);
    const HttpResponse denied = client.Request("GET", "/api/2.1/jobs/list", "", headers);
    return nlohmann::json{{"listed", listed.status}, {"denied", denied.status},
                          {"denied_body", denied.body}}.dump();
  });
  ASSERT_TRUE(run.ok) << run.error;
  const nlohmann::json out = nlohmann::json::parse(run.output);
  EXPECT_EQ(out["listed"], 200) << run.output;
  EXPECT_EQ(out["denied"], 403) << run.output;
  const HttpResponse log = fake_->Control("GET", "/_fake/requests?limit=5");
  EXPECT_EQ(log.body.find("dummy"), std::string::npos) << "the caller's token reached the workspace";
}

TEST_F(LoopbackTest, AdminApiIsNeverServed) {
  Start();
  UnixHttpClient client(address_);
  for (const char* path : {"/v1/status", "/v1/workspaces", "/v1/token", "/metrics"}) {
    const HttpResponse r = client.Request("GET", path, "", {{"Host", address_}});
    EXPECT_EQ(r.status, 404) << path << ": " << r.Describe();
  }
  EXPECT_EQ(client.Request("GET", "/healthz", "", {{"Host", address_}}).status, 200);
}

TEST_F(LoopbackTest, NonLoopbackAddressIsRefusedAtStart) {
  for (const char* listen : {"0.0.0.0:8765", "10.1.2.3:8765", "localhost:8765"}) {
    agent_->options().loopback_section = std::string("listen = \"") + listen + "\"\n";
    agent_->WriteConfig();
    const std::optional<int> exit_code = agent_->StartExpectingExit();
    ASSERT_TRUE(exit_code.has_value()) << listen;
    EXPECT_NE(*exit_code, 0) << listen;
  }
}

}  // namespace
}  // namespace dbproxy::testing
