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
// nginx runs with `worker_processes 1` for the comparison because dbproxyd serves on one
// event-loop thread; a last case shows nginx with `worker_processes auto`.
// --agent and --fake run other builds of dbproxyd and the fake workspace (release ones: the
// defaults are the binaries built next to this tool). Exits 1 when any proxied call answered other than 200, after printing the answer.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness/harness.hpp"

namespace dbproxy::testing {
namespace {

using Clock = std::chrono::steady_clock;

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

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1))];
}

// `connections` threads, each with one keep-alive connection, for `seconds`.
CaseResult RunCase(const std::string& name, const std::string& socket, int connections,
                   int seconds) {
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(connections));
  std::atomic<long> errors{0};
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::mutex first_error_mutex;
  std::string first_error;
  Clock::time_point deadline;
  std::vector<std::thread> threads;
  for (int t = 0; t < connections; ++t) {
    threads.emplace_back([&, t] {
      UnixHttpClient client(socket);
      const HttpResponse connected = client.Connect();
      auto& mine = latencies[static_cast<std::size_t>(t)];
      mine.reserve(200000);
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      while (connected.ok()) {
        const auto start = Clock::now();
        if (start >= deadline) break;
        const HttpResponse r = client.Get(kPath);
        const auto end = Clock::now();
        if (!r.ok() || r.status != 200) {
          if (errors.fetch_add(1) == 0) {
            const std::lock_guard<std::mutex> lock(first_error_mutex);
            first_error = r.Describe();
          }
          continue;
        }
        mine.push_back(std::chrono::duration<double, std::micro>(end - start).count());
      }
      if (!connected.ok()) errors.fetch_add(1);
    });
  }
  while (ready.load() < connections) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto start = Clock::now();
  deadline = start + std::chrono::seconds(seconds);
  go.store(true);
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  return CaseResult{.name = name,
                    .connections = connections,
                    .requests_per_second = static_cast<double>(all.size()) / elapsed,
                    .p50_us = Percentile(all, 0.50),
                    .p99_us = Percentile(all, 0.99),
                    .errors = errors.load(),
                    .first_error = first_error};
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
  for (const auto& d : results) {
    if (d.name != "dbproxyd") continue;
    for (const auto& n : results) {
      if (n.name != "nginx-1worker" || n.connections != d.connections) continue;
      std::printf("dbproxyd / nginx(1 worker), %d conns: req/s %.2fx, p50 %.2fx, p99 %.2fx\n",
                  d.connections,
                  n.requests_per_second > 0 ? d.requests_per_second / n.requests_per_second : 0,
                  n.p50_us > 0 ? d.p50_us / n.p50_us : 0, n.p99_us > 0 ? d.p99_us / n.p99_us : 0);
    }
  }
  for (const auto& r : results) {
    if (!r.first_error.empty()) {
      std::printf("%s (%d conns) first failed answer: %s\n", r.name.c_str(), r.connections,
                  r.first_error.c_str());
    }
  }
}

int Main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::cerr << "usage: proxy_bench [--seconds N] [--connections N] [--agent PATH] "
                 "[--fake PATH] [--nginx PATH] [--fake-threads N]\n";
    return 2;
  }
  // Five cases plus start-up; past this something hangs, and SIGALRM ends the run (children
  // die with us through PR_SET_PDEATHSIG).
  ::alarm(static_cast<unsigned>(5 * flags.seconds + 120));

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
  const HttpResponse grant = fake.TokenGrant(kClient, kSecret);
  const std::string token = grant.Json().is_object() ? grant.Json().value("access_token", "") : "";
  if (token.empty()) {
    std::cerr << "proxy_bench: token grant for nginx failed: " << grant.Describe() << "\n";
    return 1;
  }
  const std::string host_port = fake.url().substr(std::string_view("https://").size());
  Nginx nginx(flags.nginx, dir.path() / "nginx-1",
              NginxConfig(dir.path() / "nginx-1", "1", host_port, token, fake.ca_file()));

  // One call each before measuring: the agent's token is fetched and cached here.
  const HttpResponse agent_probe = agent.Client().Get(kPath);
  const HttpResponse nginx_probe = UnixHttpClient(nginx.socket().string()).Get(kPath);
  const bool agent_ok = agent_probe.status == 200;
  if (!agent_ok) {
    std::cerr << "proxy_bench: dbproxyd answered GET " << kPath << " with "
              << agent_probe.Describe() << "\n";
  }
  if (nginx_probe.status != 200) {
    std::cerr << "proxy_bench: nginx answered GET " << kPath << " with " << nginx_probe.Describe()
              << "\n";
    return 1;
  }

  std::cout << "proxy_bench: GET " << kPath << ", " << flags.seconds << " s per case, "
            << flags.connections << " connections for the parallel cases, response body "
            << nginx_probe.body.size() << " bytes, " << std::thread::hardware_concurrency()
            << " CPUs, fake workspace threads " << flags.fake_threads
            << "\nagent: " << agent.options().binary << "\nfake: "
            << (flags.fake.empty() ? "(built with this tree)" : flags.fake)
            << "\nnginx: " << flags.nginx << "\n";
  std::vector<CaseResult> results;
  for (const int connections : {1, flags.connections}) {
    if (agent_ok) {
      results.push_back(
          Measure("dbproxyd", agent.socket(), connections, flags.seconds, fake));
    }
    results.push_back(
        Measure("nginx-1worker", nginx.socket(), connections, flags.seconds, fake));
  }
  {
    Nginx nginx_auto(flags.nginx, dir.path() / "nginx-auto",
                     NginxConfig(dir.path() / "nginx-auto", "auto", host_port, token,
                                 fake.ca_file()));
    results.push_back(Measure("nginx-auto", nginx_auto.socket(), flags.connections,
                              flags.seconds, fake));
  }
  PrintTable(results);
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
