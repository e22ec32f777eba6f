// token_bench: how fast dbproxyd hands out a cached token, next to what the same client gets
// from a trivial in-process HTTP server on a Unix socket (the floor set by the kernel, the
// client and the HTTP framing); then the fast path's other figures (issue 12): latency of one
// client under load, the agent's memory, and a cold thundering herd.
//
//   token_bench [--seconds N] [--connections N] [--agent PATH] [--audit-compare] [--loopback]
//               [--herd N] [--rss-requests N]
//
// Starts a fake workspace and dbproxyd (policy: uid 0), enrolls a credential, warms the cache,
// then runs four cases of `--seconds` each: agent and echo, over one keep-alive connection and
// over `--connections` (one thread each), and prints them as a table with the ratios to echo.
// Then, each in its own short section:
//
// - p99 under load: one client measured while `--connections` others send the same cached
//   request (`--seconds`), next to the same client alone: the dbproxyd 1-connection row.
// - RSS (VmRSS of dbproxyd, /proc/<pid>/status): idle after the warm-up, the peak and the value
//   at the end of the `--connections` dbproxyd case, and the growth over `--rss-requests`
//   (default 1,000,000; 0 skips) cached requests sent by `--connections` clients (stopped after
//   180 s if not reached; the line says so).
// - Cold thundering herd: a second agent, enrolled then restarted so that nothing is cached;
//   `--herd` (default 1,000; 0 skips; at most 1,024, dbproxyd's compiled-in connection limit)
//   connections opened, then one POST /v1/token written on each back to back; how many got a
//   200, how many grants the fake workspace saw (must be 1: concurrent misses share one grant),
//   and the time from the first write to the last answer. Raises this process's RLIMIT_NOFILE.
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
//
// Besides the tables, every figure is printed once more as a machine-readable line,
// `RESULT <id> key=value ...` (tests/bench/run_all collects them; tests/bench/README.md lists
// them). Exits 1 when a step fails or the herd did not get exactly one grant and 200 answers
// only. Stops by itself; an alarm ends it if anything hangs.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/bench/herd.hpp"
#include "tests/bench/load.hpp"
#include "tests/bench/process_memory.hpp"
#include "tests/integration/harness/echo_server.hpp"
#include "tests/integration/harness/harness.hpp"

namespace dbproxy::testing {
namespace {

constexpr char kClient[] = "bench-client";
constexpr char kHerdClient[] = "herd-client";
constexpr char kSecret[] = "dose-bench-secret";
constexpr char kRequestBody[] = R"({"scope":"all-apis"})";
// dbproxyd's HttpServerOptions::max_connections (not configurable): a larger herd is refused.
constexpr int kMaxHerd = 1024;
constexpr int kRssMaxSeconds = 180;

struct Flags {
  int seconds = 5;
  int connections = 64;
  int herd = 1000;
  long rss_requests = 1000000;
  std::string agent;  // empty: the dbproxyd built with this tree
  bool audit_compare = false;
  bool loopback = false;
};

struct CaseResult {
  std::string name;
  int connections = 0;
  double requests_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  long requests = 0;  // 200 answers
  long errors = 0;
};

bool ParseNumber(const char* text, long low, long high, long* out) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < low || value > high) return false;
  *out = value;
  return true;
}

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    long number = 0;
    if (arg == "--loopback") {
      flags->loopback = true;
    } else if (arg == "--audit-compare") {
      flags->audit_compare = true;
    } else if (arg == "--agent" && has_value) {
      flags->agent = argv[++i];
    } else if ((arg == "--seconds" || arg == "--connections") && has_value &&
               ParseNumber(argv[++i], 1, 10000, &number)) {
      (arg == "--seconds" ? flags->seconds : flags->connections) = static_cast<int>(number);
    } else if (arg == "--herd" && has_value && ParseNumber(argv[++i], 0, kMaxHerd, &number)) {
      flags->herd = static_cast<int>(number);
    } else if (arg == "--rss-requests" && has_value &&
               ParseNumber(argv[++i], 0, 1000000000, &number)) {
      flags->rss_requests = number;
    } else {
      return false;
    }
  }
  return true;
}

BenchRequest TokenRequest() {
  return BenchRequest{.method = "POST",
                      .target = "/v1/token",
                      .body = kRequestBody,
                      .headers = {{"Content-Type", "application/json"}}};
}

CaseResult ToCase(const std::string& name, int connections, const LatencySummary& s, long errors) {
  return CaseResult{.name = name,
                    .connections = connections,
                    .requests_per_second = s.requests_per_second,
                    .p50_us = s.p50_us,
                    .p99_us = s.p99_us,
                    .requests = s.requests,
                    .errors = errors};
}

// `connections` keep-alive clients, one thread each, for `seconds`.
CaseResult RunCase(const std::string& name, const std::string& socket, int connections,
                   int seconds, const BenchRequest& request = TokenRequest()) {
  const LoadResult load = RunLoad({.address = socket,
                                   .request = request,
                                   .connections = connections,
                                   .duration = std::chrono::seconds(seconds)});
  return ToCase(name, connections, Summarize(load), load.errors);
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

void PrintResultLines(const std::vector<CaseResult>& results) {
  for (const auto& r : results) {
    std::printf("RESULT token.%s.c%d rps=%.0f p50_us=%.1f p99_us=%.1f errors=%ld\n",
                r.name.c_str(), r.connections, r.requests_per_second, r.p50_us, r.p99_us,
                r.errors);
  }
}

std::string BenchPolicy() {
  return "[[service]]\nname = \"bench\"\nmatch = { uid = 0 }\nworkspace = \"bench\"\n"
         "roles = [\"r\"]\n\n[[role]]\nname = \"r\"\ncredential = \"sp\"\n"
         "actions = [\"token:all-apis\"]\n";
}

AgentOptions BenchAgentOptions(const Flags& flags, const FakeWorkspace& fake) {
  AgentOptions options;
  options.binary = flags.agent;
  options.policy = BenchPolicy();
  options.ca_file = fake.ca_file();
  options.refresh_ahead_seconds = 60;
  options.min_ttl_seconds = 30;
  return options;
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
  auto agent = std::make_unique<Agent>(dir, BenchAgentOptions(flags, fake));
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
    const double ratio =
        b.requests_per_second > 0 ? a.requests_per_second / b.requests_per_second : 0;
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

// One client measured while `background` others send the same cached request.
void PrintUnderLoad(const Agent& agent, const CaseResult& quiet, const Flags& flags) {
  const LoadResult load = RunLoad({.address = agent.socket().string(),
                                   .request = TokenRequest(),
                                   .connections = flags.connections + 1,
                                   .duration = std::chrono::seconds(flags.seconds)});
  const LatencySummary probe = Summarize(load, 0, 1);
  const LatencySummary others = Summarize(load, 1);
  const double ratio = quiet.p99_us > 0 ? probe.p99_us / quiet.p99_us : 0;
  std::printf("\np99 under load: one client measured while %d others send the same request\n"
              "  %-26s %10s %10s %10s\n"
              "  %-26s %10.1f %10.1f %10ld\n"
              "  %-26s %10.1f %10.1f %10ld\n"
              "  p99 under load / alone: %.2fx (the %d others: %.0f req/s; errors %ld)\n",
              flags.connections, "client", "p50 us", "p99 us", "requests",
              "alone (dbproxyd, 1 conn)", quiet.p50_us, quiet.p99_us, quiet.requests,
              "under load", probe.p50_us, probe.p99_us, probe.requests, ratio,
              flags.connections, others.requests_per_second, load.errors);
  std::printf("RESULT token.under_load background=%d quiet_p50_us=%.1f quiet_p99_us=%.1f "
              "loaded_p50_us=%.1f loaded_p99_us=%.1f p99_ratio=%.2f errors=%ld\n",
              flags.connections, quiet.p50_us, quiet.p99_us, probe.p50_us, probe.p99_us, ratio,
              load.errors);
}

// RSS before and after `--rss-requests` cached requests from `--connections` clients.
void PrintRss(Agent& agent, long idle_kib, long load_peak_kib, long load_end_kib,
              const Flags& flags) {
  const pid_t pid = agent.process()->pid();
  long before = RssKib(pid);
  long after = before;
  long sent = 0;
  double seconds = 0;
  long errors = 0;
  if (flags.rss_requests > 0) {
    const LoadResult load = RunLoad({.address = agent.socket().string(),
                                     .request = TokenRequest(),
                                     .connections = flags.connections,
                                     .duration = std::chrono::seconds(kRssMaxSeconds),
                                     .max_requests = flags.rss_requests,
                                     .record_latencies = false});
    after = RssKib(pid);
    sent = Summarize(load).requests;
    seconds = load.elapsed_seconds;
    errors = load.errors;
  }
  const auto line = [](const std::string& label, long kib) {
    std::printf("  %-44s %8ld\n", label.c_str(), kib);
  };
  const std::string load_case = std::to_string(flags.connections) + "-client case";
  std::printf("\ndbproxyd RSS (VmRSS, KiB; pid %d)\n", static_cast<int>(pid));
  line("idle after warm-up", idle_kib);
  line("peak during the " + load_case, load_peak_kib);
  line("at the end of the " + load_case, load_end_kib);
  if (flags.rss_requests > 0) {
    char after_label[96];
    std::snprintf(after_label, sizeof after_label, "after %ld of them (%.1f s%s)", sent, seconds,
                  sent + errors < flags.rss_requests ? ", stopped at the time cap" : "");
    line("before " + std::to_string(flags.rss_requests) + " cached requests", before);
    line(after_label, after);
    line("growth", after - before);
  }
  line("peak over the process's life (VmHWM)", PeakRssKib(pid));
  std::printf("RESULT token.rss idle_kib=%ld load_peak_kib=%ld load_end_kib=%ld before_kib=%ld "
              "after_kib=%ld growth_kib=%ld requests=%ld target=%ld seconds=%.1f errors=%ld\n",
              idle_kib, load_peak_kib, load_end_kib, before, after, after - before, sent,
              flags.rss_requests, seconds, errors);
}

// The raw first token request of every herd connection.
std::string HerdRequest() {
  std::string request = "POST /v1/token HTTP/1.1\r\nHost: localhost\r\n";
  request.append("Content-Type: application/json\r\nContent-Length: ")
      .append(std::to_string(std::string_view(kRequestBody).size()))
      .append("\r\n\r\n")
      .append(kRequestBody);
  return request;
}

// A fresh agent (enrolled, then restarted: nothing cached) and `--herd` first requests at once.
// Returns false when the herd did not get 200s only from exactly one upstream grant.
bool RunColdHerd(const Flags& flags, const std::filesystem::path& dir, FakeWorkspace& fake) {
  const long files = RaiseOpenFileLimit(flags.herd + 256L);
  Agent agent(dir, BenchAgentOptions(flags, fake));
  HarnessStatus started = agent.Start();
  const HttpResponse enrolled =
      started.ok() ? agent.Enroll("bench", "sp", fake.url(), kHerdClient, kSecret)
                   : HttpResponse{};
  if (started.ok() && enrolled.status == 201) started = agent.Restart();
  if (!started.ok() || enrolled.status != 201) {
    std::cerr << "token_bench: herd agent: " << started.error << enrolled.Describe() << "\n";
    return false;
  }
  const int grants_before = fake.Grants(kHerdClient);
  const HerdResult herd = RunHerd(
      {.socket = agent.socket(), .request = HerdRequest(), .connections = flags.herd});
  const int grants = fake.Grants(kHerdClient) - grants_before;
  std::printf("\ncold thundering herd: %d connections to a freshly started agent with nothing "
              "cached,\none POST /v1/token written on each at once (open-file limit %ld)\n"
              "  answered 200: %d of %d (connected %d, failed %d)\n"
              "  upstream token grants: %d (goal: exactly 1)\n"
              "  first answer %.1f ms, last answer %.1f ms after the first write\n",
              flags.herd, files, herd.ok, flags.herd, herd.connected, herd.failed, grants,
              herd.first_answer_ms, herd.last_answer_ms);
  if (!herd.first_failure.empty()) std::printf("  first failure: %s\n", herd.first_failure.c_str());
  std::printf("RESULT token.herd connections=%d connected=%d ok=%d failed=%d grants=%d "
              "first_answer_ms=%.1f last_answer_ms=%.1f\n",
              flags.herd, herd.connected, herd.ok, herd.failed, grants, herd.first_answer_ms,
              herd.last_answer_ms);
  agent.Stop();
  return grants == 1 && herd.ok == flags.herd;
}

int Main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::cerr << "usage: token_bench [--seconds N] [--connections N] [--agent PATH] "
                 "[--audit-compare] [--loopback] [--herd N (0-1024)] [--rss-requests N]\n";
    return 2;
  }
  if (flags.audit_compare) return AuditCompare(flags);
  // The cases, the under-load case, the capped RSS run, the herd and start-ups: past this,
  // something hangs; SIGALRM ends the run (children die with us through PR_SET_PDEATHSIG).
  ::alarm(static_cast<unsigned>(7 * flags.seconds + kRssMaxSeconds + 180));

  TempDir dir("dbproxy-bench");
  FakeWorkspaceOptions fake_options;
  fake_options.clients = {{kClient, kSecret, {}}, {kHerdClient, kSecret, {}}};
  FakeWorkspace fake(dir.path() / "fake", fake_options);
  AgentOptions options = BenchAgentOptions(flags, fake);
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
  const pid_t pid = agent.process()->pid();
  const long idle_kib = RssKib(pid);
  // The echo answers with a body of the same size as the agent's token response.
  UnixEchoServer echo(dir.path() / "echo.sock", std::string(token.body.size(), 'x'));
  const int grants_before = fake.Grants(kClient);

  std::cout << "token_bench: " << flags.seconds << " s per case, " << flags.connections
            << " connections for the parallel cases, response body " << token.body.size()
            << " bytes, " << std::thread::hardware_concurrency() << " CPUs\nagent: "
            << agent.options().binary << "\n";
  std::vector<CaseResult> results;
  long load_peak_kib = -1;
  long load_end_kib = -1;
  for (const int connections : {1, flags.connections}) {
    results.push_back(
        RunCase("echo", echo.socket_path().string(), connections, flags.seconds));
    RssSampler sampler(pid);
    results.push_back(RunCase("dbproxyd", agent.socket().string(), connections, flags.seconds));
    if (connections == flags.connections) {
      load_peak_kib = sampler.Stop();
      load_end_kib = RssKib(pid);
    }
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
  PrintResultLines(results);
  echo.Stop();
  PrintUnderLoad(agent, results[1], flags);  // [1]: dbproxyd, 1 connection
  PrintRss(agent, idle_kib, load_peak_kib, load_end_kib, flags);
  const int grants = fake.Grants(kClient) - grants_before;
  std::printf("\nupstream token grants during the runs above: %d (0 means every answer came "
              "from the cache)\nRESULT token.grants cached_run=%d\n", grants, grants);
  agent.Stop();
  const bool herd_ok = flags.herd == 0 || RunColdHerd(flags, dir.path() / "herd", fake);
  std::fflush(stdout);
  return herd_ok ? 0 : 1;
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
