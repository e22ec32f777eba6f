// The token endpoint failing during a first fetch: a 500, a 429 with Retry-After, a hang past
// the upstream timeout, a connection reset, and a TLS failure. Every concurrent caller gets a
// clear error (never a hang, never a token), one grant attempt serves all of them and the
// callers of the backoff step that follows cost none, and the workspace's recovery is seen.
// Beside each fault, during a first fetch and during a refresh, the callers of another
// workspace keep their latency (within 2x of the same run's normal figure).
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
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/integration/harness/integration_fixture.hpp"

namespace dbproxy::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr int kCallers = 20;

// Dev's token scopes for TokenFaultsTest::MeasureDev: cold grants with prod healthy, and beside
// prod's fault (each set cold once per agent run; "sql" and "all-apis" are also cached).
constexpr std::array<const char*, 3> kDevNormalScopes = {"sql", "clusters", "unity-catalog"};
constexpr std::array<const char*, 3> kDevBesideScopes = {"all-apis", "clusters sql", "jobs sql"};

struct EndpointFault {
  std::string name;
  nlohmann::json spec;  // POST /_fake/faults
};

// The token endpoint's faults: a 500, a 429 with Retry-After, a hang past the 1 s upstream
// timeout and a reset, each for every attempt the test makes, and `tls`, a handshake fault.
std::vector<EndpointFault> TokenEndpointFaults(nlohmann::json tls) {
  return {
      {"500", {{"target", "token"}, {"count", 1000}, {"status", 500}}},
      {"429 with Retry-After",
       {{"target", "token"}, {"count", 1000}, {"status", 429}, {"retry_after", 2}}},
      {"hang past the upstream timeout",
       {{"target", "token"}, {"count", 1000}, {"latency_ms", 3000}}},
      {"connection reset", {{"target", "token"}, {"count", 1000}, {"drop", true}}},
      {"TLS failure", std::move(tls)},
  };
}

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

  double GrantFailures() const {
    return MetricSample(agent_->AdminClient().Get("/metrics").body,
                        "dbproxy_token_grant_failures_total");
  }

  // Workspace "dev" on a fake of its own, whose token endpoint keeps working while prod's
  // fails; the agent trusts both CAs. Called before the agent starts; enrolled by EnrollDev.
  // The policy also allows token:jobs (WarmDev's scope) and MeasureDev's scopes.
  void AddDevWorkspace() {
    std::string& policy = agent_->options().policy;
    const std::string actions = "\"token:sql\"]";
    std::string allowed = "\"token:sql\", \"token:jobs\"";
    for (const auto& scopes : {kDevNormalScopes, kDevBesideScopes}) {
      for (const char* scope : scopes) allowed += std::string(", \"token:") + scope + "\"";
    }
    policy.replace(policy.find(actions), actions.size(), allowed + "]");
    FakeWorkspaceOptions options;
    options.clients = {{kClientId, kSecret, {}}};
    dev_ = std::make_unique<FakeWorkspace>(dir_->path() / "fake-dev", options);
    const std::filesystem::path both = dir_->path() / "both-cas.pem";
    WriteFile(both, ReadFile(fake_->ca_file()) + ReadFile(dev_->ca_file()), 0644);
    agent_->options().ca_file = both;
    agent_->WriteConfig();
  }
  HarnessStatus EnrollDev() {
    const HttpResponse r = agent_->Enroll("dev", kCredential, dev_->url(), kClientId, kSecret);
    return r.status == 201 ? HarnessStatus::Ok() : HarnessStatus::Fail(r.Describe());
  }
  // A first dev grant (scope "jobs") learns dev's endpoints (discovery), which the cold grants
  // MeasureDev times then share: "normal" and "during" cost the same work.
  void WarmDev() {
    UnixHttpClient warm = agent_->Client();
    const HttpResponse r = RequestToken(warm, R"({"workspace":"dev","scope":"jobs"})");
    EXPECT_EQ(r.status, 200) << r.Describe();
  }

  // How fast "dev" answers its callers: the median of one cold grant of each of `cold_scopes`
  // (three, so that one scheduling hiccup on a busy machine is not the figure), then the median
  // and the slowest of kDevSamples cached answers of the first, in microseconds. Each scope is
  // cold once per agent run: "normal" takes kDevNormalScopes, "beside a fault" kDevBesideScopes.
  struct DevLatency {
    long long cold_us = 0;
    long long cached_p50_us = 0;
    long long cached_max_us = 0;
  };
  static constexpr int kDevSamples = 50;
  DevLatency MeasureDev(const std::array<const char*, 3>& cold_scopes) {
    UnixHttpClient client = agent_->Client();
    const auto timed = [&](const char* scope) {
      const std::string body = std::string(R"({"workspace":"dev","scope":")") + scope + "\"}";
      const auto start = Clock::now();
      const HttpResponse r = RequestToken(client, body);
      EXPECT_EQ(r.status, 200) << r.Describe();
      return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
    };
    DevLatency latency;
    std::array<long long, 3> cold{};
    for (std::size_t i = 0; i < cold.size(); ++i) cold[i] = timed(cold_scopes[i]);
    std::sort(cold.begin(), cold.end());
    latency.cold_us = cold[1];
    std::vector<long long> cached(kDevSamples);
    for (long long& sample : cached) sample = timed(cold_scopes[0]);
    std::sort(cached.begin(), cached.end());
    latency.cached_p50_us = cached[kDevSamples / 2];
    latency.cached_max_us = cached.back();
    return latency;
  }

  // Dev beside a fault kept within 2x of its normal figure (plus 20 ms on the cold grants' median
  // and 1 ms on the cached median: scheduling noise on a busy 2-core machine).
  static void ExpectDevUnaffected(const DevLatency& during, const DevLatency& normal) {
    EXPECT_LE(during.cold_us, 2 * normal.cold_us + 20000) << "dev's cold grant";
    EXPECT_LE(during.cached_p50_us, 2 * normal.cached_p50_us + 1000) << "dev's cached median";
  }

  // The refresh tests' start: 24 s tokens refreshed 12 s ahead (the agent caps "ahead" at half
  // the lifetime), dev beside prod, prod's "sql" token fetched at `t0` (its value in `cached`)
  // and dev's normal figure taken. Fatal failures end the calling test.
  struct CachedStart {
    Clock::time_point t0;
    std::string cached;
    DevLatency normal;
  };
  void StartWithACachedToken(UnixHttpClient& client, CachedStart& out) {
    ASSERT_TRUE(fake_->SetTokenLifetime(24).ok());
    agent_->options().refresh_ahead_seconds = 12;
    AddDevWorkspace();
    ASSERT_TRUE(StartAndEnroll().ok());
    ASSERT_TRUE(EnrollDev().ok());
    const HttpResponse first = RequestToken(client, R"({"scope":"sql"})");
    ASSERT_EQ(first.status, 200) << first.Describe();
    out.t0 = Clock::now();
    out.cached = first.Json().value("access_token", "");
    WarmDev();
    out.normal = MeasureDev(kDevNormalScopes);
  }

  // Prod's "sql" token (the cached one while a refresh fails), its wait added to `slowest_ms`.
  std::string TimedProdToken(UnixHttpClient& client, long long& slowest_ms) {
    const auto start = Clock::now();
    const HttpResponse answer = RequestToken(client, R"({"scope":"sql"})");
    slowest_ms = std::max<long long>(
        slowest_ms, std::chrono::duration_cast<milliseconds>(Clock::now() - start).count());
    EXPECT_EQ(answer.status, 200) << answer.Describe();
    return answer.Json().value("access_token", "");
  }

  std::unique_ptr<FakeWorkspace> dev_;
};

// Two threads asking prod for `scope` in a loop (a fresh answer every 2 ms or so), so that a
// measurement of another workspace runs beside prod's callers, healthy or failing.
class ProdCallers {
 public:
  ProdCallers(const Agent& agent, std::string scope) {
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this, &agent, body = R"({"scope":")" + scope + "\"}"] {
        UnixHttpClient client = agent.Client();
        while (!stop_) {
          statuses_[client.Post("/v1/token", body).status == 200 ? 0 : 1]++;
          std::this_thread::sleep_for(milliseconds(2));
        }
      });
    }
  }
  ~ProdCallers() { Stop(); }
  void Stop() {
    stop_ = true;
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  int ok() const { return statuses_[0]; }
  int failed() const { return statuses_[1]; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> statuses_[2] = {0, 0};
  std::vector<std::thread> threads_;
};

TEST_F(TokenFaultsTest, EachFirstFetchFaultIsAClearErrorWithOneAttemptPerBackoffStep) {
  // One failed handshake: the agent's attempt meets it, and the control channel's next
  // connection works again.
  const std::vector<EndpointFault> faults =
      TokenEndpointFaults({{"target", "handshake"}, {"count", 1}});
  ASSERT_TRUE(StartAndEnroll().ok());
  for (const EndpointFault& fault : faults) {
    SCOPED_TRACE(fault.name);
    ASSERT_TRUE(agent_->Restart().ok());  // an empty cache: "sql" is cold
    ASSERT_EQ(fake_->Control("POST", "/_fake/reset").status, 200);
    const double failures_before = GrantFailures();
    ASSERT_TRUE(fake_->InjectFault(fault.spec).ok());

    const auto start = Clock::now();
    const std::vector<HttpResponse> first = Burst();
    const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    const double attempts = GrantFailures() - failures_before;
    for (const HttpResponse& answer : first) {
      EXPECT_GE(answer.status, 500) << answer.Describe();
      EXPECT_FALSE(answer.Json()["error"].value("code", "").empty()) << answer.body;
      EXPECT_EQ(answer.body.find("access_token"), std::string::npos);
    }
    EXPECT_EQ(attempts, 1) << kCallers << " concurrent callers, one failed grant attempt";
    const int reached = fake_->TokenRequests();  // none when the handshake failed
    EXPECT_LE(reached, 1);
    // The next callers, inside the backoff step, cost no attempt and are answered at once.
    const auto again_start = Clock::now();
    const std::vector<HttpResponse> again = Burst();
    const auto again_took = std::chrono::duration_cast<milliseconds>(Clock::now() - again_start);
    for (const HttpResponse& answer : again) {
      EXPECT_GE(answer.status, 500) << answer.Describe();
      EXPECT_FALSE(answer.Header("retry-after").empty()) << answer.Describe();
    }
    EXPECT_EQ(GrantFailures() - failures_before, attempts) << "a caller in the backoff step "
                                                              "caused an attempt";
    EXPECT_EQ(fake_->TokenRequests(), reached) << "a caller in the backoff step reached the fake";
    EXPECT_LT(again_took, milliseconds(1000));
    std::printf("%s: %d callers answered %d in %lld ms with %.0f attempt(s); %d more in %lld ms; "
                "dbproxyd RSS %ld KiB\n",
                fault.name.c_str(), kCallers, first.front().status,
                static_cast<long long>(took.count()), attempts, kCallers,
                static_cast<long long>(again_took.count()), RssKib(agent_->process()->pid()));

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

// Each token-endpoint fault of prod, met by its callers in a loop from a cold cache, leaves the
// callers of another workspace ("dev", healthy) as fast as they were beside healthy prod
// callers: a cold grant and the median cached answer within 2x (plus a little for scheduling
// noise on a busy machine), measured in the same run.
TEST_F(TokenFaultsTest, EachFirstFetchFaultLeavesOtherWorkspacesTheirLatency) {
  // Every handshake fails for 1.5 s, the control channel's too: the test waits it out.
  const std::vector<EndpointFault> faults =
      TokenEndpointFaults({{"target", "handshake"}, {"for_ms", 1500}});
  AddDevWorkspace();
  ASSERT_TRUE(StartAndEnroll().ok());
  ASSERT_TRUE(EnrollDev().ok());
  for (const EndpointFault& fault : faults) {
    SCOPED_TRACE(fault.name);
    ASSERT_TRUE(agent_->Restart().ok());  // both workspaces cold
    ASSERT_EQ(fake_->Control("POST", "/_fake/reset").status, 200);
    WarmDev();

    // Normal: prod's callers served (from the cache once the first grant is in).
    ProdCallers healthy(*agent_, "all-apis");
    std::this_thread::sleep_for(milliseconds(100));
    const DevLatency normal = MeasureDev(kDevNormalScopes);
    healthy.Stop();
    EXPECT_EQ(healthy.failed(), 0);

    // Prod failing: its callers meet the fault (an attempt at each backoff step, refusals in
    // between); for the hang, dev is measured while prod's first attempt hangs.
    const double failures_before = GrantFailures();
    const auto fault_start = Clock::now();
    ASSERT_TRUE(fake_->InjectFault(fault.spec).ok());
    ProdCallers failing(*agent_, "sql");
    std::this_thread::sleep_for(milliseconds(100));
    const DevLatency faulted = MeasureDev(kDevBesideScopes);
    failing.Stop();
    EXPECT_EQ(failing.ok(), 0) << "prod's callers got a token through the fault";
    EXPECT_GT(failing.failed(), 0);
    const double failures = GrantFailures() - failures_before;
    EXPECT_GE(failures, 1) << "prod's callers never met the fault";

    std::printf("%s: prod %.0f failed grant(s), %d refusals; dev cold grant %lld us (normal "
                "%lld, %.2fx), cached p50 %lld us (normal %lld, %.2fx), slowest %lld us "
                "(normal %lld)\n",
                fault.name.c_str(), failures, failing.failed(), faulted.cold_us, normal.cold_us,
                static_cast<double>(faulted.cold_us) / static_cast<double>(normal.cold_us),
                faulted.cached_p50_us, normal.cached_p50_us,
                static_cast<double>(faulted.cached_p50_us) /
                    static_cast<double>(normal.cached_p50_us),
                faulted.cached_max_us, normal.cached_max_us);
    ExpectDevUnaffected(faulted, normal);
    EXPECT_LT(faulted.cached_max_us, 500000) << "a dev caller waited on prod's fault";
    if (fault.spec["target"] == "handshake") {
      std::this_thread::sleep_until(fault_start + milliseconds(1600));
    }
  }
}

// Every fault while a cached token is being refreshed: 500, 429, a hang past the upstream
// timeout, a reset, one after the other inside one token's refresh window. Each caller gets the
// cached token at once; another workspace's callers are as fast as before the window; the
// refresh lands once the faults are spent.
TEST_F(TokenFaultsTest, EveryRefreshFaultServesTheCachedTokenUntilTheRefreshLands) {
  // The four failed attempts and their backoff steps (0.5, 1 (Retry-After), 2, 4 s at most,
  // one attempt hanging 1 s) fit in the 12 s refresh window.
  agent_->options().min_ttl_seconds = 1;
  UnixHttpClient client = agent_->Client();
  CachedStart begun;
  StartWithACachedToken(client, begun);
  if (HasFatalFailure()) return;
  const auto& [t0, cached, normal] = begun;
  for (const nlohmann::json& fault :
       {nlohmann::json{{"status", 500}}, nlohmann::json{{"status", 429}, {"retry_after", 1}},
        nlohmann::json{{"latency_ms", 2000}}, nlohmann::json{{"drop", true}}}) {
    nlohmann::json spec = fault;
    spec["target"] = "token";
    ASSERT_TRUE(fake_->InjectFault(spec).ok());
  }
  const int attempts_before = fake_->TokenRequests();
  // One turn: prod's cached token, then dev's (timed), then a pause. The turns before the
  // window give dev's normal figure for this shape of load, the turns inside it the figure
  // beside the failing refresh.
  long long slowest_ms = 0;
  std::string latest = cached;
  const auto turn = [&](std::vector<long long>& dev_us) {
    latest = TimedProdToken(client, slowest_ms);
    const auto dev_start = Clock::now();
    EXPECT_EQ(RequestToken(client, R"({"workspace":"dev","scope":"sql"})").status, 200);
    dev_us.push_back(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - dev_start).count());
    std::this_thread::sleep_for(milliseconds(100));
  };
  const auto median = [](std::vector<long long> samples) {
    std::sort(samples.begin(), samples.end());
    return samples.empty() ? 0 : samples[samples.size() / 2];
  };
  std::vector<long long> dev_before_us;
  while (Clock::now() < t0 + milliseconds(11000)) turn(dev_before_us);
  ASSERT_EQ(fake_->TokenRequests(), attempts_before) << "a refresh began before the window";
  std::this_thread::sleep_until(t0 + milliseconds(12500));  // 11.5 s left: inside the window
  slowest_ms = 0;
  const DevLatency during = MeasureDev(kDevBesideScopes);  // as the first faulted attempt is made
  std::vector<long long> dev_during_us;
  while (Clock::now() < t0 + milliseconds(23000) && latest == cached) turn(dev_during_us);
  const int attempts = fake_->TokenRequests() - attempts_before;
  const long long dev_before = median(dev_before_us);
  const long long dev_during = median(dev_during_us);
  std::printf("refresh under 4 faults: %d grant attempts, slowest cached answer %lld ms, %s; "
              "dev cold grant %lld us (normal %lld), cached p50 %lld us (normal %lld), one "
              "cached answer a turn: p50 %lld us over %zu turns (%lld over %zu turns before)\n",
              attempts, slowest_ms, latest != cached ? "refreshed" : "not refreshed in time",
              during.cold_us, normal.cold_us, during.cached_p50_us, normal.cached_p50_us,
              dev_during, dev_during_us.size(), dev_before, dev_before_us.size());
  EXPECT_NE(latest, cached) << "the refresh never landed once the faults were spent";
  EXPECT_EQ(attempts, 5) << "four faulted attempts and the one that landed";
  EXPECT_LT(slowest_ms, 500) << "a caller waited on a failing refresh";
  ExpectDevUnaffected(during, normal);
  EXPECT_LE(dev_during, 2 * dev_before + 1000);
}

// TLS failing while a cached token is being refreshed: the cached token is served, another
// workspace's callers are not slowed, and the refresh lands once TLS works again.
TEST_F(TokenFaultsTest, TlsFailureDuringRefreshServesTheCachedTokenAndSparesOtherWorkspaces) {
  UnixHttpClient client = agent_->Client();
  CachedStart begun;
  StartWithACachedToken(client, begun);
  if (HasFatalFailure()) return;
  const auto& [t0, cached, normal] = begun;

  // The next three TLS handshakes with prod fail (the control channel's own connection
  // included, so the faults are injected last thing before the window).
  const double failures_before = GrantFailures();
  const int attempts_before = fake_->TokenRequests();
  std::this_thread::sleep_until(t0 + milliseconds(12500));  // inside the refresh window
  ASSERT_TRUE(fake_->InjectFault({{"target", "handshake"}, {"count", 3}}).ok());
  std::string latest = cached;
  bool dev_measured = false;
  DevLatency during;
  long long slowest_ms = 0;
  while (Clock::now() < t0 + milliseconds(23000) && latest == cached) {
    latest = TimedProdToken(client, slowest_ms);
    if (HasFailure()) return;
    if (!dev_measured) {
      during = MeasureDev(kDevBesideScopes);
      dev_measured = true;
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
  const double failed = GrantFailures() - failures_before;
  std::printf("TLS failing during refresh: %.0f failed grants, slowest cached answer %lld ms; "
              "dev cold grant %lld us (normal %lld), cached p50 %lld us (normal %lld)\n",
              failed, slowest_ms, during.cold_us, normal.cold_us, during.cached_p50_us,
              normal.cached_p50_us);
  EXPECT_NE(latest, cached) << "the refresh did not land once TLS worked again";
  EXPECT_EQ(failed, 3) << "one attempt per failed handshake";
  EXPECT_EQ(fake_->TokenRequests(), attempts_before + 1) << "only the landing grant got through";
  EXPECT_LT(slowest_ms, 500);
  ExpectDevUnaffected(during, normal);
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
  // A call whose body was sent is not sent again: with no seek callback libcurl cannot rewind
  // the body it streamed, so a drop on a reused connection ends in a 502, and the workspace saw
  // the call once (a bodiless GET is retried, above).
  ASSERT_EQ(agent_->Client().Get("/api/2.1/clusters/list").status, 200);  // a connection to reuse
  const int calls_before = fake_->Counters().value("api_requests", 0);
  ASSERT_TRUE(fake_->InjectFault({{"target", "api"}, {"drop", true}}).ok());
  const HttpResponse put =
      agent_->Client().Request("PUT", "/api/2.0/fs/files/Volumes/main/etl/small.bin", "hello",
                               {{"Content-Type", "application/octet-stream"}});
  EXPECT_EQ(put.status, 502) << put.Describe();
  EXPECT_EQ(fake_->Counters().value("api_requests", 0), calls_before + 1)
      << "the call was sent to the workspace again";
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
