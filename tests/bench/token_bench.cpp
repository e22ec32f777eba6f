// token_bench: how fast dbproxyd hands out a cached token, next to what the same client gets
// from a trivial in-process HTTP server on a Unix socket (the floor set by the kernel, the
// client and the HTTP framing).
//
//   token_bench [--seconds N] [--connections N] [--agent PATH] [--audit-compare] [--loopback]
//
// --loopback adds the loopback TCP listener ([loopback] listen) and a third server row,
// "loopback": the same cached token through GET /metadata/token (the SDKs' protocol) over
// 127.0.0.1, the caller identified from the kernel (sock_diag + /proc) once per connection.
//
// --audit-compare measures what the audit trail costs instead: two agents side by side, one
// with the file sink and journald on (fsync = "batch"), one with `[audit] file = ""` and
// journald = false, each case run twice in the order on, off, off, on; prints both and the
// ratio (goal: audit on >= 0.9x audit off).
//
// --agent runs another dbproxyd build (e.g. a release one; the default is the binary built
// next to this tool, Debug in a Debug tree, which is slower by an order of magnitude).
// Starts a fake workspace and dbproxyd (policy: uid 0), enrolls a credential, warms the cache,
// then runs four cases of `--seconds` each: agent and echo, over one keep-alive connection and
// over `--connections` (one thread each). Stops by itself; an alarm ends it if anything hangs.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness/echo_server.hpp"
#include "tests/integration/harness/harness.hpp"

namespace dbproxy::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kClient[] = "bench-client";
constexpr char kSecret[] = "dose-bench-secret";
constexpr char kRequestBody[] = R"({"scope":"all-apis"})";

struct Flags {
  int seconds = 5;
  int connections = 64;
  std::string agent;  // empty: the dbproxyd built with this tree
  bool audit_compare = false;
  bool loopback = false;
};

// What each client sends, again and again.
struct BenchRequest {
  std::string method = "POST";
  std::string target = "/v1/token";
  std::string body = R"({"scope":"all-apis"})";
  HttpHeaders headers = {{"Content-Type", "application/json"}};
};

struct CaseResult {
  std::string name;
  int connections = 0;
  double requests_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  long errors = 0;
};

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--loopback") {
      flags->loopback = true;
    } else if (arg == "--audit-compare") {
      flags->audit_compare = true;
    } else if (arg == "--agent" && i + 1 < argc) {
      flags->agent = argv[++i];
    } else if ((arg == "--seconds" || arg == "--connections") && i + 1 < argc) {
      const int value = std::atoi(argv[++i]);
      if (value <= 0 || value > 10000) return false;
      (arg == "--seconds" ? flags->seconds : flags->connections) = value;
    } else {
      return false;
    }
  }
  return true;
}

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[index];
}

// Runs `connections` threads, each with its own keep-alive client, for `seconds`.
CaseResult RunCase(const std::string& name, const std::string& socket, int connections,
                   int seconds, const BenchRequest& request = BenchRequest{}) {
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(connections));
  std::atomic<long> errors{0};
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  Clock::time_point deadline;
  for (int t = 0; t < connections; ++t) {
    threads.emplace_back([&, t] {
      UnixHttpClient client(socket);
      if (!client.Connect().ok()) errors.fetch_add(1);
      auto& mine = latencies[static_cast<std::size_t>(t)];
      mine.reserve(200000);
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      while (true) {
        const auto start = Clock::now();
        if (start >= deadline) break;
        const HttpResponse r =
            client.Request(request.method, request.target, request.body, request.headers);
        const auto end = Clock::now();
        if (!r.ok() || r.status != 200) {
          errors.fetch_add(1);
          continue;
        }
        mine.push_back(std::chrono::duration<double, std::micro>(end - start).count());
      }
    });
  }
  while (ready.load() < connections) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto start = Clock::now();
  deadline = start + std::chrono::seconds(seconds);
  go.store(true);
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  CaseResult result;
  result.name = name;
  result.connections = connections;
  result.requests_per_second = static_cast<double>(all.size()) / elapsed;
  result.p50_us = Percentile(all, 0.50);
  result.p99_us = Percentile(all, 0.99);
  result.errors = errors.load();
  return result;
}

void PrintTable(const std::vector<CaseResult>& results) {
  std::printf("\n%-8s %6s %12s %10s %10s %8s %14s %14s\n", "server", "conns", "req/s", "p50 us",
              "p99 us", "errors", "req/s vs echo", "p50 vs echo");
  for (const auto& r : results) {
    const CaseResult* echo = nullptr;
    for (const auto& e : results) {
      if (e.name == "echo" && e.connections == r.connections) echo = &e;
    }
    const double rate_ratio = echo && echo->requests_per_second > 0
                                  ? r.requests_per_second / echo->requests_per_second
                                  : 0;
    const double p50_ratio = echo && echo->p50_us > 0 ? r.p50_us / echo->p50_us : 0;
    std::printf("%-8s %6d %12.0f %10.1f %10.1f %8ld %13.2fx %13.2fx\n", r.name.c_str(),
                r.connections, r.requests_per_second, r.p50_us, r.p99_us, r.errors, rate_ratio,
                p50_ratio);
  }
}

std::string BenchPolicy() {
  return "[[service]]\nname = \"bench\"\nmatch = { uid = 0 }\nworkspace = \"bench\"\n"
         "roles = [\"r\"]\n\n[[role]]\nname = \"r\"\ncredential = \"sp\"\n"
         "actions = [\"token:all-apis\"]\n";
}

// Replaces the [audit] section's file line (the harness writes [audit] last) with `section`.
void SetAuditSection(Agent& agent, const std::string& section) {
  std::string config = ReadFile(agent.config_file());
  const std::size_t start = config.find("[audit]\n");
  const std::size_t end = config.find('\n', start + 8);
  config.replace(start, end + 1 - start, "[audit]\n" + section);
  WriteFile(agent.config_file(), config, 0644);
}

// Starts an agent in `dir` with `audit_section`, enrolls, and warms the token cache.
std::unique_ptr<Agent> StartWarmAgent(const std::filesystem::path& dir, const Flags& flags,
                                      FakeWorkspace& fake, const std::string& audit_section) {
  AgentOptions options;
  options.binary = flags.agent;
  options.policy = BenchPolicy();
  options.ca_file = fake.ca_file();
  options.refresh_ahead_seconds = 60;
  options.min_ttl_seconds = 30;
  auto agent = std::make_unique<Agent>(dir, options);
  SetAuditSection(*agent, audit_section);
  if (const HarnessStatus s = agent->Start(); !s.ok()) {
    std::cerr << "token_bench: " << s.error << "\n";
    return nullptr;
  }
  const HttpResponse enrolled = agent->Enroll("bench", "sp", fake.url(), kClient, kSecret);
  UnixHttpClient warm = agent->Client();
  if (enrolled.status != 201 || warm.Post("/v1/token", kRequestBody).status != 200) {
    std::cerr << "token_bench: enroll or warm-up failed: " << enrolled.Describe() << "\n";
    return nullptr;
  }
  return agent;
}

CaseResult Average(const CaseResult& a, const CaseResult& b) {
  CaseResult r = a;
  r.requests_per_second = (a.requests_per_second + b.requests_per_second) / 2;
  r.p50_us = (a.p50_us + b.p50_us) / 2;
  r.p99_us = (a.p99_us + b.p99_us) / 2;
  r.errors = a.errors + b.errors;
  return r;
}

int AuditCompare(const Flags& flags) {
  ::alarm(static_cast<unsigned>(8 * flags.seconds + 120));
  TempDir dir("dbproxy-bench");
  FakeWorkspaceOptions fake_options;
  fake_options.clients = {{kClient, kSecret, {}}};
  FakeWorkspace fake(dir.path() / "fake", fake_options);
  const std::filesystem::path audit_file = dir.path() / "on" / "audit.log";
  auto on = StartWarmAgent(dir.path() / "on", flags, fake,
                           "file = \"" + audit_file.string() +
                               "\"\nfsync = \"batch\"\njournald = true\n");
  auto off = StartWarmAgent(dir.path() / "off", flags, fake, "file = \"\"\njournald = false\n");
  if (!on || !off) return 1;
  std::cout << "token_bench --audit-compare: " << flags.seconds << " s per case (each run twice), "
            << flags.connections << " connections for the parallel cases, "
            << std::thread::hardware_concurrency() << " CPUs, journald "
            << (std::filesystem::exists("/run/systemd/journal/socket") ? "listening" : "absent")
            << "\nagent: " << on->options().binary << "\n";
  std::printf("\n%-10s %6s %12s %10s %10s %8s %14s\n", "audit", "conns", "req/s", "p50 us",
              "p99 us", "errors", "req/s on/off");
  for (const int connections : {1, flags.connections}) {
    const std::string on_socket = on->socket().string();
    const std::string off_socket = off->socket().string();
    const CaseResult on_1 = RunCase("on", on_socket, connections, flags.seconds);
    const CaseResult off_1 = RunCase("off", off_socket, connections, flags.seconds);
    const CaseResult off_2 = RunCase("off", off_socket, connections, flags.seconds);
    const CaseResult on_2 = RunCase("on", on_socket, connections, flags.seconds);
    const CaseResult a = Average(on_1, on_2);
    const CaseResult b = Average(off_1, off_2);
    const double ratio = b.requests_per_second > 0 ? a.requests_per_second / b.requests_per_second : 0;
    for (const CaseResult* r : {&a, &b}) {
      std::printf("%-10s %6d %12.0f %10.1f %10.1f %8ld %13.2fx\n", r->name.c_str(), connections,
                  r->requests_per_second, r->p50_us, r->p99_us, r->errors,
                  r == &a ? ratio : 1.0);
    }
  }
  on->Stop();
  std::size_t lines = 0;
  for (const char c : ReadFile(audit_file)) lines += c == '\n' ? 1 : 0;
  std::cout << "\naudit lines written by the audit-on agent: " << lines << "\n";
  off->Stop();
  return 0;
}

int Main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::cerr << "usage: token_bench [--seconds N] [--connections N] [--agent PATH] "
                 "[--audit-compare] [--loopback]\n";
    return 2;
  }
  if (flags.audit_compare) return AuditCompare(flags);
  // Four cases plus start-up: past this, something hangs; SIGALRM ends the run (children
  // die with us through PR_SET_PDEATHSIG).
  ::alarm(static_cast<unsigned>(6 * flags.seconds + 90));

  TempDir dir("dbproxy-bench");
  FakeWorkspaceOptions fake_options;
  fake_options.clients = {{kClient, kSecret, {}}};
  FakeWorkspace fake(dir.path() / "fake", fake_options);
  AgentOptions options;
  options.binary = flags.agent;
  options.policy = BenchPolicy();
  options.ca_file = fake.ca_file();
  options.refresh_ahead_seconds = 60;
  options.min_ttl_seconds = 30;
  std::string loopback;
  if (flags.loopback) {
    loopback = "127.0.0.1:" + std::to_string(FreeLoopbackPort());
    options.loopback_section = "listen = \"" + loopback + "\"\n";
  }
  Agent agent(dir.path() / "agent", options);
  if (const HarnessStatus s = agent.Start(); !s.ok()) {
    std::cerr << "token_bench: " << s.error << "\n";
    return 1;
  }
  const HttpResponse enrolled = agent.Enroll("bench", "sp", fake.url(), kClient, kSecret);
  if (enrolled.status != 201) {
    std::cerr << "token_bench: enroll failed: " << enrolled.Describe() << "\n";
    return 1;
  }
  UnixHttpClient warm = agent.Client();
  const HttpResponse token = warm.Post("/v1/token", kRequestBody);
  if (token.status != 200) {
    std::cerr << "token_bench: warm-up token failed: " << token.Describe() << "\n";
    return 1;
  }
  warm.Close();
  // The echo answers with a body of the same size as the agent's token response.
  UnixEchoServer echo(dir.path() / "echo.sock", std::string(token.body.size(), 'x'));
  const int grants_before = fake.Grants(kClient);

  std::cout << "token_bench: " << flags.seconds << " s per case, " << flags.connections
            << " connections for the parallel cases, response body " << token.body.size()
            << " bytes, " << std::thread::hardware_concurrency() << " CPUs\nagent: "
            << agent.options().binary << "\n";
  std::vector<CaseResult> results;
  for (const int connections : {1, flags.connections}) {
    results.push_back(
        RunCase("echo", echo.socket_path().string(), connections, flags.seconds));
    results.push_back(RunCase("dbproxyd", agent.socket().string(), connections, flags.seconds));
    if (flags.loopback) {
      const BenchRequest metadata{.method = "GET",
                                  .target = "/metadata/token",
                                  .body = "",
                                  .headers = {{"Host", loopback},
                                              {"X-Databricks-Metadata-Version", "1"},
                                              {"X-Databricks-Host", fake.url()}}};
      results.push_back(RunCase("loopback", loopback, connections, flags.seconds, metadata));
    }
  }
  PrintTable(results);
  std::cout << "\nupstream token grants during the run: " << fake.Grants(kClient) - grants_before
            << " (0 means every answer came from the cache)\n";
  echo.Stop();
  agent.Stop();
  return 0;
}

}  // namespace
}  // namespace dbproxy::testing

int main(int argc, char** argv) {
  try {
    return dbproxy::testing::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "token_bench: " << e.what() << "\n";
    return 1;
  }
}
