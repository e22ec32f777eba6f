// The token endpoint failing during a first fetch: a 500, a 429 with Retry-After, a hang past
// the upstream timeout, a connection reset, and a TLS failure. Every concurrent caller gets a
// clear error (never a hang, never a token), one grant attempt serves all of them and the
// callers of the backoff step that follows cost none, and the workspace's recovery is seen.
// A refusal while a cached token is still valid is TokenCacheTest's (served from the cache),
// a hung grant beside another workspace SlowGrantTest's.
// Proxy mode: a hanging workspace holds at most [proxy] max_concurrent_per_workspace calls;
// further calls to it are refused at once while other workspaces are served; a 500, a 429, a
// reset before the answer and one in the middle of it each reach the caller clearly, are
// audited, and leave no connection behind.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness/integration_fixture.hpp"

namespace dbproxy::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr int kCallers = 20;

class TokenFaultsTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    agent_->options().upstream_timeout_ms = 1000;
    agent_->WriteConfig();
  }

  // kCallers concurrent POST /v1/token {"scope":"sql"} on fresh connections.
  std::vector<HttpResponse> Burst() {
    std::vector<HttpResponse> answers(kCallers);
    std::vector<std::thread> callers;
    for (int i = 0; i < kCallers; ++i) {
      callers.emplace_back([&, i] {
        UnixHttpClient client = agent_->Client();
        answers[i] = client.Post("/v1/token", R"({"scope":"sql"})");
      });
    }
    for (std::thread& caller : callers) caller.join();
    return answers;
  }
};

TEST_F(TokenFaultsTest, EachFirstFetchFaultIsAClearErrorWithOneAttemptPerBackoffStep) {
  struct Fault {
    std::string name;
    nlohmann::json spec;
  };
  const std::vector<Fault> faults = {
      {"500", {{"status", 500}}},
      {"429 with Retry-After", {{"status", 429}, {"retry_after", 2}}},
      {"hang past the upstream timeout", {{"latency_ms", 3000}}},
      {"connection reset", {{"drop", true}}},
  };
  ASSERT_TRUE(StartAndEnroll().ok());
  for (const Fault& fault : faults) {
    SCOPED_TRACE(fault.name);
    ASSERT_TRUE(agent_->Restart().ok());  // an empty cache: "sql" is cold
    ASSERT_EQ(fake_->Control("POST", "/_fake/reset").status, 200);
    nlohmann::json spec = fault.spec;
    spec["target"] = "token";
    spec["count"] = 1000;
    ASSERT_TRUE(fake_->InjectFault(spec).ok());

    const auto start = Clock::now();
    const std::vector<HttpResponse> first = Burst();
    const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    const int attempts = fake_->TokenRequests();
    for (const HttpResponse& answer : first) {
      EXPECT_GE(answer.status, 500) << answer.Describe();
      EXPECT_FALSE(answer.Json()["error"].value("code", "").empty()) << answer.body;
      EXPECT_EQ(answer.body.find("access_token"), std::string::npos);
    }
    EXPECT_EQ(attempts, 1) << kCallers << " concurrent callers, one grant attempt";
    // The next callers, inside the backoff step, cost no attempt and are answered at once.
    const auto again_start = Clock::now();
    const std::vector<HttpResponse> again = Burst();
    const auto again_took = std::chrono::duration_cast<milliseconds>(Clock::now() - again_start);
    for (const HttpResponse& answer : again) {
      EXPECT_GE(answer.status, 500) << answer.Describe();
      EXPECT_FALSE(answer.Header("retry-after").empty()) << answer.Describe();
    }
    EXPECT_EQ(fake_->TokenRequests(), attempts) << "a caller in the backoff step reached the fake";
    EXPECT_LT(again_took, milliseconds(1000));
    std::printf("%s: %d callers answered %d in %lld ms with %d attempt(s); %d more in %lld ms\n",
                fault.name.c_str(), kCallers, first.front().status,
                static_cast<long long>(took.count()), attempts, kCallers,
                static_cast<long long>(again_took.count()));

    std::printf("dbproxyd RSS %ld KiB\n", RssKib(agent_->process()->pid()));
    // Recovery: once the workspace answers again, a token comes (after the backoff step).
    ASSERT_EQ(fake_->Control("POST", "/_fake/reset").status, 200);
    EXPECT_TRUE(WaitFor(
        [&] {
          UnixHttpClient client = agent_->Client();
          return RequestToken(client, R"({"scope":"sql"})").status == 200;
        },
        std::chrono::seconds(15), milliseconds(250)));
  }
}

// Every fault while a cached token is being refreshed: 500, 429, a hang past the upstream
// timeout, a reset, one after the other inside one token's refresh window. Each caller gets the
// cached token at once; the refresh lands once the faults are spent.
TEST_F(TokenFaultsTest, EveryRefreshFaultServesTheCachedTokenUntilTheRefreshLands) {
  // 24 s tokens refreshed 12 s ahead (the agent caps "ahead" at half the lifetime): the four
  // failed attempts and their backoff steps (0.5, 1 (Retry-After), 2, 4 s at most, one attempt
  // hanging 1 s) fit in the window.
  ASSERT_TRUE(fake_->SetTokenLifetime(24).ok());
  agent_->options().refresh_ahead_seconds = 12;
  agent_->options().min_ttl_seconds = 1;
  agent_->WriteConfig();
  ASSERT_TRUE(StartAndEnroll().ok());
  UnixHttpClient client = agent_->Client();
  const HttpResponse first = RequestToken(client, R"({"scope":"sql"})");
  ASSERT_EQ(first.status, 200) << first.Describe();
  const auto t0 = Clock::now();
  const std::string cached = first.Json().value("access_token", "");
  for (const nlohmann::json& fault :
       {nlohmann::json{{"status", 500}}, nlohmann::json{{"status", 429}, {"retry_after", 1}},
        nlohmann::json{{"latency_ms", 2000}}, nlohmann::json{{"drop", true}}}) {
    nlohmann::json spec = fault;
    spec["target"] = "token";
    ASSERT_TRUE(fake_->InjectFault(spec).ok());
  }
  const int attempts_before = fake_->TokenRequests();
  std::this_thread::sleep_until(t0 + milliseconds(12500));  // 11.5 s left: inside the window
  long long slowest_ms = 0;
  std::string latest = cached;
  while (Clock::now() < t0 + milliseconds(23000) && latest == cached) {
    const auto start = Clock::now();
    const HttpResponse answer = RequestToken(client, R"({"scope":"sql"})");
    slowest_ms = std::max<long long>(
        slowest_ms,
        std::chrono::duration_cast<milliseconds>(Clock::now() - start).count());
    ASSERT_EQ(answer.status, 200) << answer.Describe();
    latest = answer.Json().value("access_token", "");
    std::this_thread::sleep_for(milliseconds(100));
  }
  const int attempts = fake_->TokenRequests() - attempts_before;
  std::printf("refresh under 4 faults: %d grant attempts, slowest cached answer %lld ms, %s\n",
              attempts, slowest_ms, latest != cached ? "refreshed" : "not refreshed in time");
  EXPECT_NE(latest, cached) << "the refresh never landed once the faults were spent";
  EXPECT_EQ(attempts, 5) << "four faulted attempts and the one that landed";
  EXPECT_LT(slowest_ms, 500) << "a caller waited on a failing refresh";
}

// TLS failing while a cached token is being refreshed: the cached token is served, another
// workspace's callers are not slowed, and the refresh lands once TLS works again.
TEST_F(TokenFaultsTest, TlsFailureDuringRefreshServesTheCachedTokenAndSparesOtherWorkspaces) {
  ASSERT_TRUE(fake_->SetTokenLifetime(24).ok());
  agent_->options().refresh_ahead_seconds = 12;
  // "dev" lives on a workspace of its own, whose TLS keeps working; the agent trusts both CAs.
  FakeWorkspaceOptions other_options;
  other_options.clients = {{kClientId, kSecret, {}}};
  FakeWorkspace other(dir_->path() / "fake-dev", other_options);
  const std::filesystem::path both = dir_->path() / "both-cas.pem";
  WriteFile(both, ReadFile(fake_->ca_file()) + ReadFile(other.ca_file()), 0644);
  agent_->options().ca_file = both;
  agent_->WriteConfig();
  ASSERT_TRUE(StartAndEnroll().ok());
  ASSERT_EQ(agent_->Enroll("dev", kCredential, other.url(), kClientId, kSecret).status, 201);
  UnixHttpClient client = agent_->Client();
  const HttpResponse first = RequestToken(client, R"({"scope":"sql"})");
  ASSERT_EQ(first.status, 200) << first.Describe();
  const auto t0 = Clock::now();
  const std::string cached = first.Json().value("access_token", "");
  // The other workspace's normal figure: a cold grant and a cached answer.
  const auto timed = [&](const std::string& body) {
    const auto start = Clock::now();
    const HttpResponse r = RequestToken(client, body);
    EXPECT_EQ(r.status, 200) << r.Describe();
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
  };
  const long long normal_cold = timed(R"({"workspace":"dev","scope":"sql"})");

  // The next three TLS handshakes with prod fail (the control channel's own connection
  // included, so the faults are injected last thing before the window).
  const auto grant_failures = [&] {
    return MetricSample(agent_->AdminClient().Get("/metrics").body,
                        "dbproxy_token_grant_failures_total");
  };
  const double failures_before = grant_failures();
  const int attempts_before = fake_->TokenRequests();
  std::this_thread::sleep_until(t0 + milliseconds(12500));  // inside the refresh window
  ASSERT_TRUE(fake_->InjectFault({{"target", "handshake"}, {"count", 3}}).ok());
  std::string latest = cached;
  long long broken_cold = -1;
  long long slowest_ms = 0;
  while (Clock::now() < t0 + milliseconds(23000) && latest == cached) {
    const auto start = Clock::now();
    const HttpResponse during = RequestToken(client, R"({"scope":"sql"})");
    slowest_ms = std::max<long long>(
        slowest_ms, std::chrono::duration_cast<milliseconds>(Clock::now() - start).count());
    ASSERT_EQ(during.status, 200) << during.Describe();
    latest = during.Json().value("access_token", "");
    if (broken_cold < 0) broken_cold = timed(R"({"workspace":"dev","scope":"all-apis"})");
    std::this_thread::sleep_for(milliseconds(200));
  }
  const double failed = grant_failures() - failures_before;
  std::printf("TLS failing during refresh: %.0f failed grants, slowest cached answer %lld ms; "
              "other workspace's cold grant %lld us normally, %lld us meanwhile\n",
              failed, slowest_ms, normal_cold, broken_cold);
  EXPECT_NE(latest, cached) << "the refresh did not land once TLS worked again";
  EXPECT_EQ(failed, 3) << "one attempt per failed handshake";
  EXPECT_EQ(fake_->TokenRequests(), attempts_before + 1) << "only the landing grant got through";
  EXPECT_LT(slowest_ms, 500);
  EXPECT_LE(broken_cold, 2 * normal_cold + 20000);
}

// A workspace whose endpoint does not speak TLS: enrolment fails with a clear error and stores
// nothing; the healthy workspace is unaffected.
TEST_F(TokenFaultsTest, TlsFailureRefusesEnrolmentClearly) {
  ASSERT_TRUE(StartAndEnroll().ok());
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 16), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  std::atomic<bool> stop{false};
  std::thread plain([&] {
    while (!stop) {
      const int fd = ::accept(listener, nullptr, nullptr);
      if (fd < 0) return;
      const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
      (void)::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(fd);
    }
  });
  const std::string url = "https://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  const HttpResponse enrolled = agent_->Enroll("plain", "plain-sp", url, kClientId, kSecret);
  stop = true;
  ::shutdown(listener, SHUT_RDWR);
  ::close(listener);
  plain.join();
  EXPECT_GE(enrolled.status, 500) << enrolled.Describe();
  EXPECT_FALSE(enrolled.Json()["error"].value("message", "").empty()) << enrolled.body;
  EXPECT_EQ(enrolled.body.find(kSecret), std::string::npos);
  const CtlResult listed = MakeCtl().Run({"--json", "workspaces"});
  EXPECT_EQ(listed.out.find("plain-sp"), std::string::npos) << listed.out;
  UnixHttpClient client = agent_->Client();
  EXPECT_EQ(RequestToken(client, R"({"scope":"all-apis"})").status, 200);
}

TEST_F(TokenFaultsTest, ProxiedCallsMeetingWorkspaceFaultsEndClearlyAndLeaveNothing) {
  std::string& policy = agent_->options().policy;
  const std::string actions = "\"token:sql\"]";
  policy.replace(policy.find(actions), actions.size(),
                 "\"token:sql\", \"clusters.read\", \"files.write\"]");
  agent_->WriteConfig();
  ASSERT_TRUE(StartAndEnroll().ok());
  ASSERT_EQ(agent_->Client().Get("/api/2.1/clusters/list").status, 200);
  const long rss_before = RssKib(agent_->process()->pid());

  // A reset in the middle of the caller's upload: 64 KiB of a 4 MiB file reach the workspace.
  ASSERT_TRUE(fake_->InjectFault({{"target", "api"}, {"drop_after_request_bytes", 65536}}).ok());
  // The agent answers once the workspace is gone and stops reading: the caller's last writes
  // fail (EPIPE), and the answer is waiting in its socket.
  const int fd = ConnectUnix(agent_->socket());
  ASSERT_GE(fd, 0);
  const std::string head =
      "PUT /api/2.0/fs/files/Volumes/main/etl/big.bin HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/octet-stream\r\nContent-Length: " +
      std::to_string(4 << 20) + "\r\n\r\n";
  const std::string upload = head + std::string(4 << 20, 'u');
  for (std::size_t sent = 0; sent < upload.size();) {
    const ssize_t n = ::send(fd, upload.data() + sent, upload.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string cut_upload;
  char chunk[4096];
  for (ssize_t n; (n = ::recv(fd, chunk, sizeof chunk, 0)) > 0;) {
    cut_upload.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  EXPECT_TRUE(cut_upload.rfind("HTTP/1.1 502", 0) == 0 ||
              cut_upload.rfind("HTTP/1.1 503", 0) == 0)
      << cut_upload.substr(0, 300);
  EXPECT_EQ(agent_->Client().Get("/api/2.1/clusters/list").status, 200);
  struct Case {
    std::string name;
    nlohmann::json fault;
    int status;  // 0: the head may already be relayed, the body is cut short
  };
  const std::vector<Case> cases = {
      {"500", {{"status", 500}}, 500},
      {"429 with Retry-After", {{"status", 429}, {"retry_after", 3}}, 429},
      // Twice: libcurl sends a request again, once, when a reused connection closes before any
      // byte of the answer, so one drop alone ends in a 200.
      {"reset before the answer", {{"drop", true}, {"count", 2}}, 502},
      {"reset in the middle of the answer", {{"cut_after_bytes", 5}}, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    nlohmann::json fault = c.fault;
    fault["target"] = "api";
    ASSERT_TRUE(fake_->InjectFault(fault).ok());
    UnixHttpClient client = agent_->Client();
    const HttpResponse answer = client.Get("/api/2.1/clusters/list");
    if (c.status != 0) {
      EXPECT_EQ(answer.status, c.status) << answer.Describe();
      if (c.status == 429) {
        EXPECT_EQ(answer.Header("retry-after"), "3");
      }
    } else {
      // Either the agent saw the cut before relaying the head (502), or the caller's answer
      // ends before its Content-Length: never a complete 200.
      EXPECT_FALSE(answer.ok() && answer.status == 200 &&
                   answer.Json().contains("clusters"))
          << answer.Describe();
    }
    if (answer.status != 0) {
      EXPECT_FALSE(answer.Header("x-request-id").empty());
    }
    client.Close();
    // The next call works: nothing of the fault is left in the pool.
    EXPECT_EQ(agent_->Client().Get("/api/2.1/clusters/list").status, 200);
  }
  double open = -1;
  for (int i = 0; i < 50 && open != 0; ++i) {
    open = MetricSample(agent_->AdminClient().Get("/metrics").body,
                        "dbproxy_active_connections{socket=\"agent\"}");
    if (open != 0) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(open, 0) << "connections left open after the faults";
  const long rss_after = RssKib(agent_->process()->pid());
  std::printf("dbproxyd RSS %ld KiB before the proxy faults, %ld KiB after\n", rss_before,
              rss_after);
  EXPECT_LT(rss_after, rss_before + 32 * 1024);
  const std::string audit = ReadFile(agent_->audit_file());
  EXPECT_NE(audit.find("\"upstream_status\":500"), std::string::npos);
  EXPECT_NE(audit.find("\"upstream_status\":429"), std::string::npos);
}

TEST_F(TokenFaultsTest, AHangingWorkspaceHoldsAtMostItsShareOfProxiedCalls) {
  constexpr int kCap = 4;
  std::string& policy = agent_->options().policy;
  const std::string actions = "\"token:sql\"]";
  policy.replace(policy.find(actions), actions.size(), "\"token:sql\", \"clusters.read\"]");
  agent_->options().upstream_timeout_ms = 10000;
  agent_->options().proxy_section =
      "max_concurrent_per_workspace = " + std::to_string(kCap) + "\nmax_concurrent_upstream = 8\n";
  agent_->WriteConfig();
  ASSERT_TRUE(StartAndEnroll().ok());
  ASSERT_EQ(agent_->Enroll("dev", kCredential, fake_->url(), kClientId, kSecret).status, 201);
  UnixHttpClient warm = agent_->Client();
  ASSERT_EQ(warm.Get("/api/2.1/clusters/list").status, 200);
  ASSERT_EQ(warm.Get("/w/dev/api/2.1/clusters/list").status, 200);

  const int api_before = fake_->Counters().value("api_requests", 0);
  ASSERT_TRUE(
      fake_->InjectFault({{"target", "api"}, {"count", kCap}, {"latency_ms", 2500}}).ok());
  std::vector<HttpResponse> stuck(kCap);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCap; ++i) {
    callers.emplace_back([&, i] { stuck[i] = agent_->Client().Get("/api/2.1/clusters/list"); });
  }
  ASSERT_TRUE(WaitFor([&] { return fake_->Counters().value("api_requests", 0) >= api_before + kCap; },
                      std::chrono::seconds(5)));
  for (int i = 0; i < 3; ++i) {
    const auto start = Clock::now();
    const HttpResponse refused = agent_->Client().Get("/api/2.1/clusters/list");
    EXPECT_EQ(refused.status, 503) << refused.Describe();
    EXPECT_EQ(refused.Header("retry-after"), "1");
    EXPECT_NE(refused.body.find("max_concurrent_per_workspace"), std::string::npos) << refused.body;
    EXPECT_LT(Clock::now() - start, milliseconds(1000));
  }
  const auto start = Clock::now();
  const HttpResponse other = agent_->Client().Get("/w/dev/api/2.1/clusters/list");
  EXPECT_EQ(other.status, 200) << other.Describe();
  EXPECT_LT(Clock::now() - start, milliseconds(1000)) << "another workspace waited on the hang";
  for (std::thread& caller : callers) caller.join();
  for (const HttpResponse& answer : stuck) EXPECT_EQ(answer.status, 200) << answer.Describe();
  EXPECT_EQ(agent_->Client().Get("/api/2.1/clusters/list").status, 200)
      << "the places of the finished calls were not given back";
  const long rss = RssKib(agent_->process()->pid());
  std::printf("dbproxyd RSS %ld KiB after the hang\n", rss);
  EXPECT_LT(rss, 256 * 1024);
}

}  // namespace
}  // namespace dbproxy::testing
