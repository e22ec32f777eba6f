// Proxy mode, transport level: routing, header rules, bodies both ways, status codes passed
// through, token renewal on an auth-layer 401/403, streaming with flat memory, callers that
// go away mid-answer. (What the policy decides for proxied calls: proxy_policy_test.cpp.)
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/integration/harness/integration_fixture.hpp"

namespace dbproxy::testing {
namespace {

constexpr char kCallerSecret[] = "Bearer dapi-caller-own-0123456789abcdef";

std::string ProxyPolicy(const std::string& role_limits = "") {
  return std::string("[[service]]\n") + "name = \"" + kService + "\"\n" + "match = { unit = \"" +
         kUnit + "\" }\n" + "workspace = \"" + kWorkspace + "\"\n" + "roles = [\"etl\"]\n\n" +
         "[[service]]\n"
         "name = \"root-tests\"\n"
         "match = { uid = 0 }\n"
         "workspace = \"" +
         kWorkspace + "\"\n" + "roles = [\"etl\"]\n\n" +
         "[[role]]\n"
         "name = \"etl\"\n"
         "credential = \"" +
         kCredential + "\"\n" +
         "actions = [\"token:all-apis\", \"clusters.*\", \"jobs.read\", \"scim.me\", "
         "\"api.unknown\"]\n" +
         role_limits +
         "\n"
         "[[rule]]\n"
         "id = \"no-cluster-deletes\"\n"
         "effect = \"deny\"\n"
         "actions = [\"clusters.manage\"]\n"
         "when = { \"request.path\" = { glob = \"*/clusters/permanent-delete\" } }\n";
}

// Peak and current resident memory of a process, in KiB (VmHWM, VmRSS).
long StatusKib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// A raw client for large answers: sends one request, reads the head, then counts (and checks)
// body bytes without keeping them, stopping after `stop_after` bytes when set.
struct RawResult {
  int status = 0;
  std::uint64_t content_length = 0;
  std::uint64_t received = 0;
  bool pattern_ok = true;
  std::string error;
};

RawResult StreamGet(const std::filesystem::path& socket, const std::string& target,
                    std::uint64_t stop_after = 0) {
  RawResult result;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket.c_str(), sizeof(address.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    result.error = "connect failed";
    ::close(fd);
    return result;
  }
  const std::string request =
      "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    result.error = "send failed";
  }
  std::string head;
  std::vector<char> buffer(1 << 16);
  std::uint64_t position = 0;
  while (result.error.empty()) {
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n <= 0) break;
    std::size_t offset = 0;
    if (result.status == 0) {
      head.append(buffer.data(), static_cast<std::size_t>(n));
      const std::size_t end = head.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      result.status = std::stoi(head.substr(9, 3));
      const std::size_t length = head.find("Content-Length: ");
      if (length != std::string::npos && length < end) {
        result.content_length = std::stoull(head.substr(length + 16));
      }
      offset = static_cast<std::size_t>(n) - (head.size() - end - 4);
    }
    for (std::size_t i = offset; i < static_cast<std::size_t>(n); ++i, ++position) {
      if (buffer[i] != static_cast<char>('a' + position % 26)) result.pattern_ok = false;
    }
    result.received = position;
    if (stop_after > 0 && position >= stop_after) break;
  }
  ::close(fd);
  return result;
}

// Sends a POST with a chunked body (`chunks` pieces of `piece`) on a raw connection; returns
// the answer's status (0 on failure).
int PostChunked(const std::filesystem::path& socket, const std::string& target,
                const std::string& piece, int chunks) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket.c_str(), sizeof(address.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return 0;
  }
  std::string out = "POST " + target +
                    " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
  for (int i = 0; i < chunks; ++i)
    out += size + piece + "\r\n";
  out += "0\r\n\r\n";
  std::size_t sent = 0;
  while (sent < out.size()) {
    const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  char head[64] = {};
  const ssize_t n = ::recv(fd, head, sizeof head - 1, 0);
  ::close(fd);
  return n > 12 ? std::atoi(head + 9) : 0;
}

class ProxyTransportTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    agent_->options().policy = ProxyPolicy();
    agent_->WriteConfig();
  }

  void StartProxy() {
    const HarnessStatus started = StartAndEnroll();
    ASSERT_TRUE(started.ok()) << started.error;
    ASSERT_EQ(fake_->Control("POST", "/_fake/reset").status, 200);
  }

  // The last request the fake workspace received.
  nlohmann::json LastUpstreamRequest() const {
    const HttpResponse log = fake_->Control("GET", "/_fake/requests?limit=1");
    const nlohmann::json requests = log.Json();
    if (!requests.is_array() || requests.empty()) return nlohmann::json();
    return requests.back();
  }

  int ApiRequests() const { return fake_->Counters().value("api_requests", -1); }
};

TEST_F(ProxyTransportTest, ProxiedGetReturnsTheWorkspaceAnswer) {
  StartProxy();
  UnixHttpClient client = agent_->Client();
  const HttpResponse r = client.Get("/api/2.1/clusters/list?can_use_client=JOBS&x=%2F1");
  ASSERT_EQ(r.status, 200) << r.Describe();
  const nlohmann::json body = r.Json();
  ASSERT_TRUE(body.contains("clusters")) << r.body;
  EXPECT_EQ(body["clusters"].size(), 3u);
  EXPECT_EQ(r.Header("x-request-id").size(), 16u) << "the agent's own request id";
  EXPECT_FALSE(r.Header("x-databricks-request-id").empty()) << "the workspace's id";
  EXPECT_NE(r.Header("x-request-id"), r.Header("x-databricks-request-id"));
  EXPECT_EQ(r.Header("content-type"), "application/json");

  const nlohmann::json upstream = LastUpstreamRequest();
  EXPECT_EQ(upstream.value("method", ""), "GET");
  EXPECT_EQ(upstream.value("target", ""), "/api/2.1/clusters/list?can_use_client=JOBS&x=%2F1");
  // Its audit line: what was called, for whom, and what the workspace said.
  nlohmann::json line;
  ASSERT_TRUE(WaitFor(
      [&] {
        std::istringstream audit(ReadFile(agent_->audit_file()));
        for (std::string text; std::getline(audit, text);) {
          const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
          if (parsed.is_object() && parsed.value("request_id", "") == r.Header("x-request-id")) {
            line = parsed;
          }
        }
        return line.is_object();
      },
      std::chrono::seconds(5)));
  EXPECT_EQ(line.value("action", ""), "clusters.read") << line.dump();
  EXPECT_EQ(line.value("path", ""), "/api/2.1/clusters/list");
  EXPECT_EQ(line.value("workspace", ""), kWorkspace);
  EXPECT_EQ(line.value("credential", ""), kCredential);
  EXPECT_EQ(line.value("decision", ""), "allow");
  EXPECT_EQ(line.value("status", 0), 200);
  EXPECT_EQ(line.value("upstream_status", 0), 200);
  EXPECT_EQ(line.value("databricks_request_id", ""), r.Header("x-databricks-request-id"));
  EXPECT_EQ(line.value("bytes_out", 0u), r.body.size());
  EXPECT_GT(line.value("upstream_latency_us", 0), 0);
  // Keep-alive: a second call on the same connection works too.
  const HttpResponse again = client.Get("/api/2.0/clusters/list");
  EXPECT_EQ(again.status, 200) << again.Describe();
  EXPECT_EQ(client.requests_on_connection(), 2);
}

TEST_F(ProxyTransportTest, CallerCredentialsAndHopByHopHeadersNeverReachTheWorkspace) {
  StartProxy();
  UnixHttpClient client = agent_->Client();
  const HttpResponse r = client.Request("GET", "/api/2.1/clusters/list", "",
                                        {{"Authorization", kCallerSecret},
                                         {"Proxy-Authorization", "Basic eDp5"},
                                         {"Cookie", "session=caller"},
                                         {"Connection", "keep-alive, X-Drop-Me"},
                                         {"X-Drop-Me", "1"},
                                         {"Keep-Alive", "timeout=5"},
                                         {"TE", "trailers"},
                                         {"X-Forwarded-For", "10.1.2.3"},
                                         {"Forwarded", "for=10.1.2.3"},
                                         {"X-Dbproxy-Workspace", kWorkspace},
                                         // The policy saw a GET: nothing may make it a DELETE.
                                         {"X-HTTP-Method-Override", "DELETE"},
                                         {"X-HTTP-Method", "DELETE"},
                                         {"X-Method-Override", "DELETE"},
                                         {"User-Agent", "mytool/1.0"},
                                         {"X-Custom-Header", "kept"},
                                         {"Accept", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.Describe();
  const nlohmann::json upstream = LastUpstreamRequest();
  ASSERT_TRUE(upstream.is_object()) << upstream.dump();
  nlohmann::json headers;
  for (const auto& [name, value] : upstream["headers"].items()) {
    std::string lower = name;
    for (char& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    headers[lower] = value;
  }
  const std::string authorization = headers.value("authorization", "");
  EXPECT_EQ(authorization.rfind("Bearer ", 0), 0u) << authorization;
  EXPECT_EQ(authorization.find("dapi-caller-own"), std::string::npos) << authorization;
  for (const char* dropped : {"proxy-authorization", "cookie", "x-drop-me", "keep-alive", "te",
                              "x-forwarded-for", "forwarded", "x-dbproxy-workspace",
                              "x-http-method-override", "x-http-method", "x-method-override"}) {
    EXPECT_FALSE(headers.contains(dropped)) << dropped << " reached the workspace";
  }
  EXPECT_EQ(headers.value("x-custom-header", ""), "kept");
  EXPECT_EQ(headers.value("accept", ""), "application/json");
  EXPECT_EQ(headers.value("user-agent", ""), "mytool/1.0 dbproxy/" DBPROXY_VERSION);
  // Nor does the caller's credential reach the audit trail or the agent's log.
  EXPECT_EQ(ReadFile(agent_->audit_file()).find("dapi-caller-own"), std::string::npos);
  EXPECT_EQ(agent_->Stderr().find("dapi-caller-own"), std::string::npos);
}

// The agent's own JSON bodies: a repeated key is refused before any decision, not read as its
// last value (this policy refuses the token itself: a refusal by policy would be 403).
TEST_F(ProxyTransportTest, TokenRequestWithARepeatedKeyIsRefused) {
  StartProxy();
  UnixHttpClient client = agent_->Client();
  const HttpResponse r = client.Post("/v1/token", R"({"scope":"all-apis","scope":"sql"})");
  EXPECT_EQ(r.status, 400) << r.Describe();
  EXPECT_EQ(r.Json()["error"].value("code", ""), "invalid_request") << r.body;
  EXPECT_NE(r.body.find("appears more than once"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("access_token"), std::string::npos) << r.body;
}

TEST_F(ProxyTransportTest, RequestBodiesAndErrorAnswersPassThrough) {
  StartProxy();
  UnixHttpClient client = agent_->Client();
  const HttpResponse unknown =
      client.Post("/api/2.1/clusters/delete", R"({"cluster_id":"no-such-cluster"})");
  EXPECT_EQ(unknown.status, 400) << unknown.Describe();
  EXPECT_EQ(unknown.Json().value("error_code", ""), "INVALID_PARAMETER_VALUE") << unknown.body;
  const nlohmann::json upstream = LastUpstreamRequest();
  EXPECT_EQ(upstream.value("method", ""), "POST");

  const HttpResponse list = client.Get("/api/2.1/clusters/list");
  ASSERT_EQ(list.status, 200) << list.Describe();
  const std::string id = list.Json()["clusters"][0].value("cluster_id", "");
  const HttpResponse deleted =
      client.Post("/api/2.1/clusters/delete", nlohmann::json{{"cluster_id", id}}.dump());
  EXPECT_EQ(deleted.status, 200) << deleted.Describe();

  const HttpResponse missing = client.Get("/api/2.0/no/such/endpoint");
  EXPECT_EQ(missing.status, 404) << missing.Describe();
  EXPECT_EQ(missing.Json().value("error_code", ""), "ENDPOINT_NOT_FOUND") << missing.body;
}

TEST_F(ProxyTransportTest, StreamedRequestBodiesReachTheWorkspaceWhole) {
  StartProxy();
  // clusters/delete is not a call the policy inspects: its body streams through unread.
  const std::string pad(900 * 1000, 'p');
  const std::string body = R"({"cluster_id":"no-such-cluster","pad":")" + pad + "\"}";
  UnixHttpClient client = agent_->Client();
  const HttpResponse sized = client.Post("/api/2.1/clusters/delete", body);
  EXPECT_EQ(sized.status, 400) << sized.Describe();
  EXPECT_EQ(sized.Json().value("error_code", ""), "INVALID_PARAMETER_VALUE") << sized.body;
  EXPECT_EQ(LastUpstreamRequest().value("body_bytes", 0u), body.size());

  // A chunked body of unknown length goes upstream chunked, whole.
  const std::string piece =
      std::string(R"({"cluster_id":"no-such-cluster","pad":")") + std::string(100 * 1000, 'q');
  const int status =
      PostChunked(agent_->socket(), "/api/2.1/clusters/delete", piece.substr(0, 50 * 1000), 1);
  EXPECT_EQ(status, 400);  // not JSON once cut: the workspace's own 400
  const int whole = PostChunked(agent_->socket(), "/api/2.1/clusters/delete", "{}", 1);
  EXPECT_EQ(whole, 400);
  const std::string many(8 * 1000, ' ');
  EXPECT_EQ(PostChunked(agent_->socket(), "/api/2.1/clusters/delete", many, 100), 400);
  EXPECT_EQ(LastUpstreamRequest().value("body_bytes", 0u), many.size() * 100);
}

// Sends a head declaring `length` body bytes and no body; returns the raw answer (or "").
std::string PostDeclaredOnly(const std::filesystem::path& socket, const std::string& target,
                             std::uint64_t length) {
  const int fd = ConnectUnix(socket);
  if (fd < 0) return "";
  timeval limit{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  const std::string head = "POST " + target +
                           " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                           "Content-Length: " +
                           std::to_string(length) + "\r\n\r\n";
  std::string answer;
  if (::send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size())) {
    char buffer[4096];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) {
      answer.append(buffer, static_cast<std::size_t>(n));
      if (answer.find("\r\n\r\n") != std::string::npos && answer.back() == '}') break;
    }
  }
  ::close(fd);
  return answer;
}

// The audit line of the request whose X-Request-Id is `id` (null when there is none).
nlohmann::json AuditLineFor(const std::filesystem::path& file, const std::string& id) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_object() && record.value("request_id", "") == id) return record;
  }
  return nlohmann::json();
}

// Issue 15, item 2: a Content-Length over 1 MiB (Beast's default body limit on the head
// parser) was closed without an answer, unforwarded and unaudited.
TEST_F(ProxyTransportTest, ContentLengthUploadsOverOneMebibyteAreForwarded) {
  StartProxy();
  const std::string pad(3 * 1024 * 1024, 'p');
  const std::string body = R"({"cluster_id":"no-such-cluster","pad":")" + pad + "\"}";
  UnixHttpClient client = agent_->Client();
  const HttpResponse sized = client.Post("/api/2.1/clusters/delete", body);
  EXPECT_EQ(sized.status, 400) << sized.Describe();
  EXPECT_EQ(sized.Json().value("error_code", ""), "INVALID_PARAMETER_VALUE") << sized.body;
  EXPECT_EQ(LastUpstreamRequest().value("body_bytes", 0u), body.size());
}

TEST_F(ProxyTransportTest, DeclaredLengthsOverTheirCapAre413AndAudited) {
  agent_->options().proxy_section = "max_request_body = 2097152\ninspect_body_limit = 65536\n";
  agent_->WriteConfig();
  StartProxy();
  const int before = ApiRequests();
  // Over max_request_body: refused from the head, before a byte is read or forwarded.
  const std::string over = PostDeclaredOnly(agent_->socket(), "/api/2.1/clusters/delete",
                                            std::uint64_t{3} * 1024 * 1024);
  ASSERT_EQ(over.rfind("HTTP/1.1 413", 0), 0u) << over;
  EXPECT_NE(over.find("max_request_body"), std::string::npos) << over;
  // A body the policy must read is held to inspect_body_limit, whatever its framing (a
  // Content-Length under 1 MiB passed unchecked before).
  const std::string inspected =
      PostDeclaredOnly(agent_->socket(), "/api/2.0/sql/statements", 200 * 1024);
  ASSERT_EQ(inspected.rfind("HTTP/1.1 413", 0), 0u) << inspected;
  EXPECT_NE(inspected.find("inspect_body_limit"), std::string::npos) << inspected;
  EXPECT_EQ(ApiRequests(), before) << "nothing may reach the workspace";
  // Each is one audit record with its status and code.
  for (const std::string& answer : {over, inspected}) {
    const std::size_t at = answer.find("X-Request-Id: ");
    ASSERT_NE(at, std::string::npos) << answer;
    const std::string id = answer.substr(at + 14, 16);
    nlohmann::json line;
    ASSERT_TRUE(WaitFor([&] {
      line = AuditLineFor(agent_->audit_file(), id);
      return line.is_object();
    }, std::chrono::seconds(5))) << "no audit line for " << id;
    EXPECT_EQ(line.value("status", 0), 413) << line.dump();
    EXPECT_EQ(line.value("error", ""), "payload_too_large") << line.dump();
  }
  // Under the cap, a large upload goes through.
  UnixHttpClient client = agent_->Client();
  const std::string body = R"({"cluster_id":"no-such-cluster","pad":")" +
                           std::string(1536 * 1024, 'p') + "\"}";
  EXPECT_EQ(client.Post("/api/2.1/clusters/delete", body).status, 400);
  EXPECT_EQ(LastUpstreamRequest().value("body_bytes", 0u), body.size());
}

TEST_F(ProxyTransportTest, ExpectContinueGetsAnInterimAnswerBeforeTheBodyIsRead) {
  StartProxy();
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, agent_->socket().c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  const std::string body = R"({"cluster_id":"no-such-cluster"})";
  const std::string head =
      "POST /api/2.1/clusters/delete HTTP/1.1\r\nHost: localhost\r\n"
      "Content-Type: application/json\r\nExpect: 100-continue\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  char interim[64] = {};
  ASSERT_GT(::recv(fd, interim, sizeof interim - 1, 0), 0);
  EXPECT_EQ(std::string(interim).rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << interim;
  ASSERT_EQ(::send(fd, body.data(), body.size(), MSG_NOSIGNAL), static_cast<ssize_t>(body.size()));
  char final_answer[64] = {};
  ASSERT_GT(::recv(fd, final_answer, sizeof final_answer - 1, 0), 0);
  EXPECT_EQ(std::string(final_answer).rfind("HTTP/1.1 400", 0), 0u) << final_answer;
  ::close(fd);
}

TEST_F(ProxyTransportTest, WorkspaceRateLimitIsPassedThroughWithRetryAfter) {
  StartProxy();
  ASSERT_TRUE(fake_->InjectFault({{"target", "api"}, {"status", 429}, {"retry_after", 7}}).ok());
  UnixHttpClient client = agent_->Client();
  const HttpResponse r = client.Get("/api/2.1/clusters/list");
  EXPECT_EQ(r.status, 429) << r.Describe();
  EXPECT_EQ(r.Header("retry-after"), "7");
  EXPECT_EQ(r.Json().value("error_code", ""), "REQUEST_LIMIT_EXCEEDED") << r.body;
  ASSERT_TRUE(fake_->InjectFault({{"target", "api"}, {"status", 503}, {"retry_after", 3}}).ok());
  const HttpResponse unavailable = client.Get("/api/2.1/clusters/list");
  EXPECT_EQ(unavailable.status, 503) << unavailable.Describe();
  EXPECT_EQ(unavailable.Header("retry-after"), "3");
  EXPECT_EQ(client.Get("/api/2.1/clusters/list").status, 200);
}

// The agent's own 503 upstream_unavailable, whatever made it, tells the caller when to retry.
void ExpectUnavailableWithRetryAfter(const HttpResponse& r, const char* what) {
  EXPECT_EQ(r.status, 503) << what << ": " << r.Describe();
  const nlohmann::json body = r.Json();
  ASSERT_TRUE(body.is_object() && body.contains("error")) << what << ": " << r.body;
  EXPECT_EQ(body["error"].value("code", ""), "upstream_unavailable") << what << ": " << r.body;
  const std::string retry_after = r.Header("retry-after");
  EXPECT_FALSE(retry_after.empty()) << what << ": " << r.Describe();
  if (retry_after.empty()) return;
  EXPECT_GE(std::stoi(retry_after), 1) << what;
  EXPECT_LE(std::stoi(retry_after), 60) << what;
  EXPECT_EQ(body["error"].value("retry_after_seconds", 0), std::stoi(retry_after)) << what;
}

TEST_F(ProxyTransportTest, EveryUpstreamUnavailableAnswerCarriesRetryAfter) {
  StartProxy();
  UnixHttpClient client = agent_->Client();
  // The token endpoint answers 503 without a Retry-After of its own.
  ASSERT_TRUE(fake_->InjectFault({{"target", "token"}, {"status", 503}}).ok());
  const HttpResponse grant_failed = client.Get("/api/2.1/clusters/list");
  ExpectUnavailableWithRetryAfter(grant_failed, "token endpoint 503");
  // The broker's back-off before its next attempt.
  ExpectUnavailableWithRetryAfter(client.Get("/api/2.1/clusters/list"), "back-off");
  ASSERT_TRUE(WaitFor([&] { return client.Get("/api/2.1/clusters/list").status == 200; },
                      std::chrono::seconds(30)));
  // The workspace goes away: the proxied call cannot connect, and (after a restart, with no
  // cached token) neither can the token request.
  fake_->process().Stop();
  ExpectUnavailableWithRetryAfter(agent_->Client().Get("/api/2.1/clusters/list"),
                                  "workspace unreachable");
  ASSERT_TRUE(agent_->Restart().ok());
  ExpectUnavailableWithRetryAfter(agent_->Client().Get("/api/2.1/clusters/list"),
                                  "token endpoint unreachable");
}

TEST_F(ProxyTransportTest, RejectedTokenIsRenewedOnceAndTheCallRetried) {
  StartProxy();
  UnixHttpClient client = agent_->Client();
  ASSERT_EQ(client.Get("/api/2.1/clusters/list").status, 200);
  const int grants = fake_->Grants(kClientId);
  // The workspace forgets every token: the cached one now gets 403 "Invalid access token."
  ASSERT_EQ(fake_->Control("POST", "/_fake/tokens/revoke-all").status, 200);
  const HttpResponse r = client.Get("/api/2.1/clusters/list");
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(fake_->Grants(kClientId), grants + 1);

  // An injected auth-layer 401 once: renewed and retried.
  const nlohmann::json no_credential = {
      {"error_code", 401},
      {"message", "Credential was not sent or was of an unsupported type for this API."}};
  ASSERT_TRUE(
      fake_->InjectFault({{"target", "api"}, {"status", 401}, {"body", no_credential}}).ok());
  EXPECT_EQ(client.Get("/api/2.1/clusters/list").status, 200);
  EXPECT_EQ(fake_->Grants(kClientId), grants + 2);

  // Refused twice: one renewal, one retry, then the workspace's answer goes to the caller.
  const nlohmann::json invalid = {{"error_code", 403}, {"message", "Invalid access token."}};
  ASSERT_TRUE(
      fake_->InjectFault({{"target", "api"}, {"status", 403}, {"count", 2}, {"body", invalid}})
          .ok());
  const int before = ApiRequests();
  const HttpResponse twice = client.Get("/api/2.1/clusters/list");
  EXPECT_EQ(twice.status, 403) << twice.Describe();
  EXPECT_EQ(ApiRequests(), before + 2);
  EXPECT_EQ(fake_->Grants(kClientId), grants + 3);

  // An application-level 403 (string error_code) costs no renewal.
  const nlohmann::json denied = {{"error_code", "PERMISSION_DENIED"}, {"message", "no"}};
  ASSERT_TRUE(fake_->InjectFault({{"target", "api"}, {"status", 403}, {"body", denied}}).ok());
  EXPECT_EQ(client.Get("/api/2.1/clusters/list").status, 403);
  EXPECT_EQ(fake_->Grants(kClientId), grants + 3);
}

TEST_F(ProxyTransportTest, LargeAnswerStreamsWithFlatAgentMemory) {
  // Under AddressSanitizer freed memory waits in a quarantine (256 MB by default) before reuse,
  // which would count as growth here: keep it small. No effect on other builds.
  const char* asan = std::getenv("ASAN_OPTIONS");
  agent_->options().env.push_back(std::string("ASAN_OPTIONS=") + (asan != nullptr ? asan : "") +
                                  ":quarantine_size_mb=4:thread_local_quarantine_size_kb=64");
  StartProxy();
  const pid_t pid = agent_->process()->pid();
  // Warm up (token, connection), then measure the peak around one 200 MB answer.
  const RawResult warm = StreamGet(agent_->socket(), "/api/2.0/fake/blob?bytes=1048576");
  ASSERT_EQ(warm.status, 200) << warm.error;
  const long before = StatusKib(pid, "VmHWM");
  constexpr std::uint64_t kSize = 200ULL << 20;
  const RawResult big =
      StreamGet(agent_->socket(), "/api/2.0/fake/blob?bytes=" + std::to_string(kSize));
  const long after = StatusKib(pid, "VmHWM");
  ASSERT_EQ(big.status, 200) << big.error;
  EXPECT_EQ(big.content_length, kSize);
  EXPECT_EQ(big.received, kSize);
  EXPECT_TRUE(big.pattern_ok);
  EXPECT_LT(after - before, 32 * 1024) << "VmHWM grew from " << before << " to " << after << " KiB";
  std::cout << "agent VmHWM before " << before << " KiB, after 200 MB: " << after << " KiB\n";
}

TEST_F(ProxyTransportTest, CallerLeavingMidAnswerDoesNotHurtTheAgent) {
  StartProxy();
  for (int i = 0; i < 5; ++i) {
    const RawResult cut = StreamGet(
        agent_->socket(), "/api/2.0/fake/blob?bytes=" + std::to_string(64 << 20), 1 << 20);
    EXPECT_EQ(cut.status, 200) << cut.error;
  }
  ASSERT_TRUE(agent_->running());
  UnixHttpClient client = agent_->Client();
  EXPECT_EQ(client.Get("/api/2.1/clusters/list").status, 200);
  EXPECT_EQ(client.Get("/healthz").status, 200);
}

TEST_F(ProxyTransportTest, WorkspaceComesFromPathHeaderOrServiceDefault) {
  StartProxy();
  UnixHttpClient client = agent_->Client();
  EXPECT_EQ(client.Get("/w/prod/api/2.1/clusters/list").status, 200);
  EXPECT_EQ(LastUpstreamRequest().value("target", ""), "/api/2.1/clusters/list");
  const HttpResponse header =
      client.Request("GET", "/api/2.1/clusters/list", "", {{"X-Dbproxy-Workspace", "prod"}});
  EXPECT_EQ(header.status, 200) << header.Describe();
  const HttpResponse unknown =
      client.Request("GET", "/api/2.1/clusters/list", "", {{"X-Dbproxy-Workspace", "staging"}});
  EXPECT_EQ(unknown.status, 404) << unknown.Describe();
  const HttpResponse conflict = client.Request("GET", "/w/prod/api/2.1/clusters/list", "",
                                               {{"X-Dbproxy-Workspace", "staging"}});
  EXPECT_EQ(conflict.status, 400) << conflict.Describe();
  EXPECT_EQ(conflict.Json()["error"].value("code", ""), "invalid_request");
}

TEST_F(ProxyTransportTest, DeniedCallNeverReachesTheWorkspace) {
  StartProxy();
  UnixHttpClient client = agent_->Client();
  const int before = ApiRequests();
  const HttpResponse r = client.Post("/api/2.1/clusters/permanent-delete", R"({"cluster_id":"x"})");
  EXPECT_EQ(r.status, 403) << r.Describe();
  EXPECT_EQ(r.Json()["error"].value("code", ""), "policy_denied");
  EXPECT_EQ(r.Json()["error"].value("rule", ""), "no-cluster-deletes");
  const HttpResponse traversal = client.Get("/api/2.1/clusters/../jobs/list");
  EXPECT_EQ(traversal.status, 400) << traversal.Describe();
  EXPECT_EQ(ApiRequests(), before);
  // The connection stays usable after a refused request with a body.
  EXPECT_EQ(client.Get("/api/2.1/clusters/list").status, 200);
}

TEST_F(ProxyTransportTest, ServiceCallerInItsCgroupIsProxied) {
  Identity who;
  if (const std::string why = MakeServiceIdentity(&who); !why.empty()) GTEST_SKIP() << why;
  StartProxy();
  const HttpResponse r = RequestAs(who, agent_->socket(), "GET", "/api/2.1/clusters/list");
  EXPECT_EQ(r.status, 200) << r.Describe();
  const HttpResponse stranger = RequestAs(UserIdentity(kStrangerUid, kStrangerUid),
                                          agent_->socket(), "GET", "/api/2.1/clusters/list");
  EXPECT_EQ(stranger.status, 403) << stranger.Describe();
  EXPECT_EQ(stranger.Json()["error"].value("code", ""), "unidentified");
}

TEST_F(ProxyTransportTest, UnreachableOrSlowWorkspaceGivesGatewayErrors) {
  agent_->options().proxy_section = "request_timeout_ms = 1000\n";
  agent_->WriteConfig();
  StartProxy();
  UnixHttpClient client = agent_->Client();
  ASSERT_EQ(client.Get("/api/2.1/clusters/list").status, 200);
  // libcurl retries once on a fresh connection when a reused one dies before any answer (a
  // keep-alive race it cannot tell apart): drop both attempts.
  ASSERT_TRUE(fake_->InjectFault({{"target", "api"}, {"drop", true}, {"count", 2}}).ok());
  const HttpResponse dropped = client.Get("/api/2.1/clusters/list");
  EXPECT_EQ(dropped.status, 502) << dropped.Describe();
  EXPECT_EQ(dropped.Json()["error"].value("code", ""), "upstream_error");
  ASSERT_TRUE(fake_->InjectFault({{"target", "api"}, {"latency_ms", 3000}}).ok());
  const HttpResponse slow = client.Get("/api/2.1/clusters/list");
  EXPECT_EQ(slow.status, 504) << slow.Describe();
  EXPECT_EQ(slow.Json()["error"].value("code", ""), "upstream_timeout");
}

TEST_F(ProxyTransportTest, RequestsPerMinuteGives429RateLimited) {
  agent_->options().policy = ProxyPolicy("limits = { requests_per_minute = 2 }\n");
  agent_->WriteConfig();
  StartProxy();
  UnixHttpClient client = agent_->Client();
  EXPECT_EQ(client.Get("/api/2.1/clusters/list").status, 200);
  EXPECT_EQ(client.Get("/api/2.1/clusters/list").status, 200);
  const HttpResponse limited = client.Get("/api/2.1/clusters/list");
  EXPECT_EQ(limited.status, 429) << limited.Describe();
  EXPECT_EQ(limited.Json()["error"].value("code", ""), "rate_limited");
  EXPECT_FALSE(limited.Header("retry-after").empty());
}

TEST_F(ProxyTransportTest, DisabledProxyAnswers404) {
  agent_->options().proxy_section = "enabled = false\n";
  agent_->WriteConfig();
  StartProxy();
  UnixHttpClient client = agent_->Client();
  const HttpResponse r = client.Get("/api/2.1/clusters/list");
  EXPECT_EQ(r.status, 404) << r.Describe();
  EXPECT_NE(r.Json()["error"].value("message", "").find("proxy mode is disabled"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(ApiRequests(), 0);
}

}  // namespace
}  // namespace dbproxy::testing
