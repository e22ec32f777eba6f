// proxy_bench: proxied `GET /api/2.1/clusters/list` through dbproxyd next to the same load
// through nginx configured as a header-injecting reverse proxy, in the same run, against the
// same fake workspace.
//
//   proxy_bench [--seconds N] [--connections N] [--agent PATH] [--fake PATH] [--nginx PATH]
//               [--fake-threads N]
//
// Both proxies listen on a Unix socket and keep TLS connections to the workspace alive; nginx
// injects a fixed token fetched from the workspace's token endpoint, dbproxyd identifies each
// caller from the kernel, decides by policy, injects the role's token and writes an audit line.
// Cases of 1 and `--connections` keep-alive connections, `--seconds` each, for dbproxyd, nginx
// with `worker_processes 1` (one worker; dbproxyd runs one event loop per CPU) and nginx with
// `worker_processes auto` (one worker per CPU: the anchor of the fast-path goal, >= 1.0x).
// --agent and --fake run other builds of dbproxyd and the fake workspace (release ones: the
// defaults are the binaries built next to this tool). Without nginx at --nginx, only the
// dbproxyd cases run and `RESULT proxy.nginx status=missing` says so.
// Besides the table, each case is printed as `RESULT proxy.<server>.c<conns> rps=...` for
// tests/bench/run_all. Exits 1 when any proxied call answered other than 200, after printing
// the answer.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/bench/load.hpp"
#include "tests/integration/harness/harness.hpp"

namespace dbproxy::testing {
namespace {

constexpr char kClient[] = "bench-client";
constexpr char kSecret[] = "dose-bench-secret";
constexpr char kPath[] = "/api/2.1/clusters/list";

struct Flags {
  int seconds = 5;
  int connections = 64;
  int fake_threads = 2;
  std::string agent;  // empty: the dbproxyd built with this tree
  std::string fake;   // empty: the fake workspace built with this tree
  std::string nginx = "/usr/sbin/nginx";
};

struct CaseResult {
  std::string name;
  int connections = 0;
  double requests_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  long errors = 0;
  long upstream_calls = 0;
  std::string first_error;  // the first answer that was not a 200
};

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    const std::string value = argv[i + 1];
    if (arg == "--agent") {
      flags->agent = value;
    } else if (arg == "--fake") {
      flags->fake = value;
    } else if (arg == "--nginx") {
      flags->nginx = value;
    } else if (arg == "--seconds" || arg == "--connections" || arg == "--fake-threads") {
      const int number = std::atoi(value.c_str());
      if (number <= 0 || number > 10000) return false;
      (arg == "--seconds" ? flags->seconds
                          : arg == "--connections" ? flags->connections : flags->fake_threads) =
          number;
    } else {
      return false;
    }
  }
  return argc % 2 == 1;
}

// `connections` keep-alive clients, one thread each, for `seconds`.
CaseResult RunCase(const std::string& name, const std::string& socket, int connections,
                   int seconds) {
  const LoadResult load =
      RunLoad({.address = socket,
               .request = BenchRequest{.method = "GET", .target = kPath, .body = {}, .headers = {}},
               .connections = connections,
               .duration = std::chrono::seconds(seconds)});
  const LatencySummary summary = Summarize(load);
  return CaseResult{.name = name,
                    .connections = connections,
                    .requests_per_second = summary.requests_per_second,
                    .p50_us = summary.p50_us,
                    .p99_us = summary.p99_us,
                    .errors = load.errors,
                    .first_error = load.first_error};
}

std::string BenchPolicy() {
  return "[[service]]\nname = \"bench\"\nmatch = { uid = " + std::to_string(::geteuid()) +
         " }\nworkspace = \"bench\"\nroles = [\"reader\"]\n\n[[role]]\nname = \"reader\"\n"
         "credential = \"sp\"\nactions = [\"clusters.read\"]\n";
}

// A header-injecting reverse proxy: Unix socket in, TLS with verification and kept-alive
// upstream connections out, the caller's Authorization replaced by a fixed token.
std::string NginxConfig(const std::filesystem::path& dir, const std::string& workers,
                        const std::string& upstream_host_port, const std::string& token,
                        const std::filesystem::path& ca_file) {
  const std::string d = dir.string();
  return std::string(::geteuid() == 0 ? "user root;\n" : "") +
         "worker_processes " + workers + ";\n"
         "pid " + d + "/nginx.pid;\n"
         "error_log " + d + "/error.log warn;\n"
         "events { worker_connections 4096; }\n"
         "http {\n"
         "  access_log off;\n"
         "  client_body_temp_path " + d + "/client_body;\n"
         "  proxy_temp_path " + d + "/proxy_temp;\n"
         "  upstream fake_upstream {\n"
         "    server " + upstream_host_port + ";\n"
         "    keepalive 64;\n"
         "  }\n"
         "  server {\n"
         "    listen unix:" + d + "/nginx.sock;\n"
         "    location / {\n"
         "      proxy_pass https://fake_upstream;\n"
         "      proxy_http_version 1.1;\n"
         "      proxy_set_header Connection \"\";\n"
         "      proxy_set_header Authorization \"Bearer " + token + "\";\n"
         "      proxy_ssl_verify on;\n"
         "      proxy_ssl_trusted_certificate " + ca_file.string() + ";\n"
         // The fake's certificate names DNS:localhost and IP:127.0.0.1; nginx checks host names.
         "      proxy_ssl_name localhost;\n"
         "      proxy_ssl_server_name on;\n"
         "      proxy_ssl_session_reuse on;\n"
         "    }\n"
         "  }\n"
         "}\n";
}

// nginx in the foreground with a generated configuration in `dir`; stopped on destruction.
class Nginx {
 public:
  Nginx(const std::string& binary, const std::filesystem::path& dir, const std::string& config)
      : dir_(dir) {
    std::filesystem::create_directories(dir_);
    WriteFile(dir_ / "nginx.conf", config, 0644);
    ProcessOptions options;
    options.args = {binary, "-c", (dir_ / "nginx.conf").string(), "-p", dir_.string(), "-g",
                    "daemon off;"};
    options.stdout_file = dir_ / "nginx.stdout";
    options.stderr_file = dir_ / "nginx.stderr";
    process_ = std::make_unique<Process>(std::move(options));
    if (!WaitFor([&] { return !process_->Running() || UnixSocketAccepts(socket()); },
                 std::chrono::seconds(10)) ||
        !process_->Running()) {
      throw std::runtime_error("nginx did not start: " + process_->Stderr() +
                               ReadFile(dir_ / "error.log"));
    }
  }
  std::filesystem::path socket() const { return dir_ / "nginx.sock"; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<Process> process_;
};

long UpstreamCalls(const FakeWorkspace& fake) {
  const nlohmann::json counters = fake.Counters();
  return counters.is_object() ? counters.value("api_requests", -1L) : -1;
}

CaseResult Measure(const std::string& name, const std::filesystem::path& socket,
                   int connections, int seconds, const FakeWorkspace& fake) {
  const long before = UpstreamCalls(fake);
  CaseResult result = RunCase(name, socket.string(), connections, seconds);
  result.upstream_calls = UpstreamCalls(fake) - before;
  return result;
}

void PrintTable(const std::vector<CaseResult>& results) {
  std::printf("\n%-14s %6s %10s %10s %10s %8s %10s\n", "server", "conns", "req/s", "p50 us",
              "p99 us", "errors", "upstream");
  for (const auto& r : results) {
    std::printf("%-14s %6d %10.0f %10.1f %10.1f %8ld %10ld\n", r.name.c_str(), r.connections,
                r.requests_per_second, r.p50_us, r.p99_us, r.errors, r.upstream_calls);
  }
  std::printf("\n");
  for (const char* anchor : {"nginx-1worker", "nginx-auto"}) {
    for (const auto& d : results) {
      if (d.name != "dbproxyd") continue;
      for (const auto& n : results) {
        if (n.name != anchor || n.connections != d.connections) continue;
        std::printf("dbproxyd / %s, %d conns: req/s %.2fx, p50 %.2fx, p99 %.2fx\n", anchor,
                    d.connections,
                    n.requests_per_second > 0 ? d.requests_per_second / n.requests_per_second
                                              : 0,
                    n.p50_us > 0 ? d.p50_us / n.p50_us : 0,
                    n.p99_us > 0 ? d.p99_us / n.p99_us : 0);
      }
    }
  }
  for (const auto& r : results) {
    if (!r.first_error.empty()) {
      std::printf("%s (%d conns) first failed answer: %s\n", r.name.c_str(), r.connections,
                  r.first_error.c_str());
    }
  }
  for (const auto& r : results) {
    std::printf("RESULT proxy.%s.c%d rps=%.0f p50_us=%.1f p99_us=%.1f errors=%ld upstream=%ld\n",
                r.name.c_str(), r.connections, r.requests_per_second, r.p50_us, r.p99_us,
                r.errors, r.upstream_calls);
  }
}

// The fixed token nginx injects, straight from the workspace's token endpoint ("" on failure).
std::string NginxToken(const FakeWorkspace& fake) {
  const HttpResponse grant = fake.TokenGrant(kClient, kSecret);
  const nlohmann::json body = grant.Json();
  const std::string token = body.is_object() ? body.value("access_token", "") : "";
  if (token.empty()) {
    std::cerr << "proxy_bench: token grant for nginx failed: " << grant.Describe() << "\n";
  }
  return token;
}

// The two nginx anchors, both on the same fake workspace; nullptr entries when nginx is not
// installed. Throws std::runtime_error when nginx is there but does not start.
struct NginxPair {
  std::unique_ptr<Nginx> one_worker;
  std::unique_ptr<Nginx> auto_workers;
};

NginxPair StartNginx(const Flags& flags, const std::filesystem::path& dir,
                     const FakeWorkspace& fake, const std::string& token) {
  const std::string host_port = fake.url().substr(std::string_view("https://").size());
  NginxPair pair;
  for (const std::string workers : {"1", "auto"}) {
    const std::filesystem::path nginx_dir = dir / ("nginx-" + workers);
    auto nginx = std::make_unique<Nginx>(
        flags.nginx, nginx_dir, NginxConfig(nginx_dir, workers, host_port, token, fake.ca_file()));
    (workers == "1" ? pair.one_worker : pair.auto_workers) = std::move(nginx);
  }
  return pair;
}

int Main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::cerr << "usage: proxy_bench [--seconds N] [--connections N] [--agent PATH] "
                 "[--fake PATH] [--nginx PATH] [--fake-threads N]\n";
    return 2;
  }
  // Six cases plus start-up; past this something hangs, and SIGALRM ends the run (children
  // die with us through PR_SET_PDEATHSIG).
  ::alarm(static_cast<unsigned>(6 * flags.seconds + 120));

  TempDir dir("dbproxy-proxy-bench");
  ::chmod(dir.path().c_str(), 0755);
  FakeWorkspaceOptions fake_options;
  fake_options.clients = {{kClient, kSecret, {}}};
  fake_options.threads = flags.fake_threads;
  fake_options.binary = flags.fake;
  FakeWorkspace fake(dir.path() / "fake", fake_options);

  AgentOptions options;
  options.binary = flags.agent;
  options.policy = BenchPolicy();
  options.ca_file = fake.ca_file();
  options.refresh_ahead_seconds = 60;
  options.min_ttl_seconds = 30;
  Agent agent(dir.path() / "agent", options);
  if (const HarnessStatus s = agent.Start(); !s.ok()) {
    std::cerr << "proxy_bench: " << s.error << "\n";
    return 1;
  }
  const HttpResponse enrolled = agent.Enroll("bench", "sp", fake.url(), kClient, kSecret);
  if (enrolled.status != 201) {
    std::cerr << "proxy_bench: enroll failed: " << enrolled.Describe() << "\n";
    return 1;
  }
  const bool have_nginx = std::filesystem::exists(flags.nginx);
  NginxPair nginx;
  if (have_nginx) {
    const std::string token = NginxToken(fake);
    if (token.empty()) return 1;
    nginx = StartNginx(flags, dir.path(), fake, token);
  }

  // One call each before measuring: the agent's token is fetched and cached here.
  const HttpResponse agent_probe = agent.Client().Get(kPath);
  const bool agent_ok = agent_probe.status == 200;
  if (!agent_ok) {
    std::cerr << "proxy_bench: dbproxyd answered GET " << kPath << " with "
              << agent_probe.Describe() << "\n";
  }
  for (const Nginx* n : {nginx.one_worker.get(), nginx.auto_workers.get()}) {
    if (n == nullptr) continue;
    const HttpResponse nginx_probe = UnixHttpClient(n->socket().string()).Get(kPath);
    if (nginx_probe.status != 200) {
      std::cerr << "proxy_bench: nginx answered GET " << kPath << " with "
                << nginx_probe.Describe() << "\n";
      return 1;
    }
  }

  std::cout << "proxy_bench: GET " << kPath << ", " << flags.seconds << " s per case, "
            << flags.connections << " connections for the parallel cases, response body "
            << agent_probe.body.size() << " bytes, " << std::thread::hardware_concurrency()
            << " CPUs, fake workspace threads " << flags.fake_threads
            << "\nagent: " << agent.options().binary << "\nfake: "
            << (flags.fake.empty() ? "(built with this tree)" : flags.fake) << "\nnginx: "
            << flags.nginx << (have_nginx ? "" : " (not installed: dbproxyd cases only)") << "\n";
  std::vector<CaseResult> results;
  for (const int connections : {1, flags.connections}) {
    if (agent_ok) {
      results.push_back(Measure("dbproxyd", agent.socket(), connections, flags.seconds, fake));
    }
    if (!have_nginx) continue;
    results.push_back(
        Measure("nginx-1worker", nginx.one_worker->socket(), connections, flags.seconds, fake));
    results.push_back(
        Measure("nginx-auto", nginx.auto_workers->socket(), connections, flags.seconds, fake));
  }
  PrintTable(results);
  if (!have_nginx) std::printf("RESULT proxy.nginx status=missing path=%s\n", flags.nginx.c_str());
  agent.Stop();
  const bool failed = std::any_of(results.begin(), results.end(),
                                  [](const CaseResult& r) { return r.errors > 0; });
  if (!agent_ok) std::cout << "dbproxyd cases skipped: the probe call failed (see above)\n";
  return agent_ok && !failed ? 0 : 1;
}

}  // namespace
}  // namespace dbproxy::testing

int main(int argc, char** argv) {
  try {
    return dbproxy::testing::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "proxy_bench: " << e.what() << "\n";
    return 1;
  }
}
