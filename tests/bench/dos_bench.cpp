// dos_bench: what one local user's attack costs another user's token requests (issue 14).
//
//   dos_bench [--seconds N] [--idle N] [--slowloris N] [--agent PATH]
//
// Starts a fake workspace and dbproxyd (policy: uid 0 gets tokens), enrolls and warms the
// cache, then measures one client (root) asking for a cached token over one keep-alive
// connection for `--seconds`, three times:
//   - echo:   the same client against UnixEchoServer (the anchor: kernel, client, framing);
//   - quiet:  dbproxyd with nobody else;
//   - attack: dbproxyd while a process of uid 4343 holds `--idle` (2,000) idle connections and
//             `--slowloris` (200) connections trickling one byte of a head every 200 ms.
// Prints req/s, p50, p99 and errors for each, the attack's p99 against the quiet one and the
// echo, dbproxyd's RSS before and during the attack, the connections it refused
// (dbproxy_connections_refused_total) and the load average before and after. Also as
// `RESULT dos.<case> ...` lines. Must run as root (the attacker drops to uid 4343).
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "tests/bench/load.hpp"
#include "tests/bench/process_memory.hpp"
#include "tests/integration/harness/echo_server.hpp"
#include "tests/integration/harness/harness.hpp"
#include "tests/integration/harness/run_as.hpp"

namespace dbproxy::testing {
namespace {

constexpr char kClient[] = "dos-client";
constexpr char kSecret[] = "dose-dos-bench-secret";
constexpr char kRequestBody[] = R"({"scope":"all-apis"})";
constexpr uid_t kAttackerUid = 4343;

struct Flags {
  int seconds = 5;
  int idle = 2000;
  int slowloris = 200;
  std::string agent;
};

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return false;
    if (arg == "--agent") {
      flags->agent = argv[++i];
      continue;
    }
    char* end = nullptr;
    const long value = std::strtol(argv[++i], &end, 10);
    if (*end != '\0' || value < 0 || value > 100000) return false;
    if (arg == "--seconds" && value > 0) {
      flags->seconds = static_cast<int>(value);
    } else if (arg == "--idle") {
      flags->idle = static_cast<int>(value);
    } else if (arg == "--slowloris") {
      flags->slowloris = static_cast<int>(value);
    } else {
      return false;
    }
  }
  return true;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

LatencySummary Measure(const std::string& socket, int seconds, long* errors) {
  const LoadResult load =
      RunLoad({.address = socket,
               .request = {.method = "POST",
                           .target = "/v1/token",
                           .body = kRequestBody,
                           .headers = {{"Content-Type", "application/json"}}},
               .connections = 1,
               .duration = std::chrono::seconds(seconds)});
  *errors = load.errors;
  return Summarize(load);
}

// The attacker, as uid 4343: `idle` connections that send nothing and `slowloris` that
// trickle a head, until `hold` has a byte to read or is closed.
std::string Attack(const std::string& socket, int idle, int slowloris, int hold) {
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &files);
  std::vector<int> idle_fds;
  std::vector<int> slow_fds;
  for (int i = 0; i < idle + slowloris; ++i) {
    const int fd = ConnectUnix(socket);
    if (fd < 0) break;
    (i < idle ? idle_fds : slow_fds).push_back(fd);
  }
  for (int fd : slow_fds) {
    (void)::send(fd, "POST /v1/token HTTP/1.1\r\nHost: x\r\nX-Slow: ", 41, MSG_NOSIGNAL);
  }
  const auto poll_hold = [hold] {
    pollfd p{.fd = hold, .events = POLLIN, .revents = 0};
    return ::poll(&p, 1, 200) != 0;  // 200 ms between trickled bytes
  };
  while (!poll_hold()) {
    for (int fd : slow_fds) (void)::send(fd, "a", 1, MSG_NOSIGNAL);
  }
  for (int fd : idle_fds) ::close(fd);
  for (int fd : slow_fds) ::close(fd);
  return std::to_string(idle_fds.size()) + " idle, " + std::to_string(slow_fds.size()) +
         " slowloris connected";
}

int Run(const Flags& flags) {
  if (::geteuid() != 0) {
    std::cerr << "dos_bench: run as root (the attacker becomes uid 4343)\n";
    return 1;
  }
  ::alarm(static_cast<unsigned>(4 * flags.seconds + 120));
  TempDir dir("dbproxy-dos-bench");
  FakeWorkspaceOptions fake_options;
  fake_options.clients = {{kClient, kSecret, {}}};
  FakeWorkspace fake(dir.path() / "fake", fake_options);
  AgentOptions options;
  options.binary = flags.agent;
  options.policy =
      "[[service]]\nname = \"bench\"\nmatch = { uid = 0 }\nworkspace = \"bench\"\n"
      "roles = [\"r\"]\n\n[[role]]\nname = \"r\"\ncredential = \"sp\"\n"
      "actions = [\"token:all-apis\"]\n";
  options.ca_file = fake.ca_file();
  options.refresh_ahead_seconds = 60;
  options.min_ttl_seconds = 30;
  options.agent_section = "request_timeout_seconds = 30\n";
  Agent agent(dir.path() / "agent", options);
  if (const HarnessStatus s = agent.Start(); !s.ok()) {
    std::cerr << "dos_bench: " << s.error << "\n";
    return 1;
  }
  const HttpResponse enrolled = agent.Enroll("bench", "sp", fake.url(), kClient, kSecret);
  UnixHttpClient warm = agent.Client();
  const HttpResponse token = warm.Post("/v1/token", kRequestBody);
  if (enrolled.status != 201 || token.status != 200) {
    std::cerr << "dos_bench: enroll or warm-up failed: " << enrolled.Describe() << "\n";
    return 1;
  }
  warm.Close();
  const pid_t pid = agent.process()->pid();
  const std::string load_before = LoadAverage();
  std::cout << "dos_bench: " << flags.seconds << " s per case, " << flags.idle << " idle and "
            << flags.slowloris << " slowloris connections of uid " << kAttackerUid << ", "
            << std::thread::hardware_concurrency() << " CPUs\nagent: " << agent.options().binary
            << "\nload average before: " << load_before << "\n";

  UnixEchoServer echo(dir.path() / "echo.sock", std::string(token.body.size(), 'x'));
  long echo_errors = 0;
  const LatencySummary anchor = Measure(echo.socket_path().string(), flags.seconds, &echo_errors);
  echo.Stop();
  long quiet_errors = 0;
  const LatencySummary quiet = Measure(agent.socket().string(), flags.seconds, &quiet_errors);
  const long rss_quiet = RssKib(pid);

  int hold[2];
  if (::pipe(hold) != 0) return 1;
  RunAsResult attacker;
  std::thread attack([&] {
    attacker = RunAs(
        UserIdentity(kAttackerUid, kAttackerUid),
        [&]() -> std::string {
          ::close(hold[1]);
          return Attack(agent.socket().string(), flags.idle, flags.slowloris, hold[0]);
        },
        std::chrono::seconds(4 * flags.seconds + 60));
  });
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the connections are open by then
  ::close(hold[0]);
  const std::string metrics_during = agent.AdminClient().Get("/metrics").body;
  long attack_errors = 0;
  const LatencySummary loaded = Measure(agent.socket().string(), flags.seconds, &attack_errors);
  const long rss_attack = RssKib(pid);
  ::close(hold[1]);
  attack.join();
  const std::string metrics_after = agent.AdminClient().Get("/metrics").body;

  const auto ratio = [](double a, double b) { return b > 0 ? a / b : 0; };
  std::printf("\n%-8s %10s %10s %10s %8s %12s %12s\n", "case", "req/s", "p50 us", "p99 us",
              "errors", "p99/quiet", "p99/echo");
  const auto row = [&](const char* name, const LatencySummary& s, long errors) {
    std::printf("%-8s %10.0f %10.1f %10.1f %8ld %11.2fx %11.2fx\n", name, s.requests_per_second,
                s.p50_us, s.p99_us, errors, ratio(s.p99_us, quiet.p99_us),
                ratio(s.p99_us, anchor.p99_us));
    std::printf("RESULT dos.%s rps=%.0f p50_us=%.1f p99_us=%.1f errors=%ld\n", name,
                s.requests_per_second, s.p50_us, s.p99_us, errors);
  };
  row("echo", anchor, echo_errors);
  row("quiet", quiet, quiet_errors);
  row("attack", loaded, attack_errors);
  const std::string per_uid =
      "dbproxy_connections_refused_total{socket=\"agent\",cap=\"max_connections_per_uid\"}";
  const std::string active = "dbproxy_active_connections{socket=\"agent\"}";
  std::printf("\nattacker: %s; open agent connections during the attack %.0f, refused over the "
              "per-uid cap %.0f\n",
              attacker.ok ? attacker.output.c_str() : attacker.error.c_str(),
              MetricSample(metrics_during, active), MetricSample(metrics_after, per_uid));
  std::printf("dbproxyd RSS: %ld KiB quiet, %ld KiB during the attack\n", rss_quiet, rss_attack);
  std::printf("load average after: %s\n", LoadAverage().c_str());
  std::printf("RESULT dos.summary p99_attack_vs_quiet=%.2f errors=%ld rss_quiet_kib=%ld "
              "rss_attack_kib=%ld\n",
              ratio(loaded.p99_us, quiet.p99_us), attack_errors, rss_quiet, rss_attack);
  return attacker.ok && attack_errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace dbproxy::testing

int main(int argc, char** argv) {
  dbproxy::testing::Flags flags;
  if (!dbproxy::testing::ParseFlags(argc, argv, &flags)) {
    std::cerr << "usage: dos_bench [--seconds N] [--idle N] [--slowloris N] [--agent PATH]\n";
    return 2;
  }
  return dbproxy::testing::Run(flags);
}
