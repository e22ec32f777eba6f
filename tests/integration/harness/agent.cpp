#include "tests/integration/harness/agent.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace dbproxy::testing {
namespace {

#ifdef DBPROXY_AGENT_BIN
constexpr const char* kAgentBinary = DBPROXY_AGENT_BIN;
#else
constexpr const char* kAgentBinary = "";
#endif
#ifdef DBPROXY_CTL_BIN
constexpr const char* kCtlBinary = DBPROXY_CTL_BIN;
#else
constexpr const char* kCtlBinary = "";
#endif

std::string Quote(const std::filesystem::path& p) { return "\"" + p.string() + "\""; }

// Percent-encodes a query value (RFC 3986 unreserved characters pass through).
std::string UrlEncode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

Agent::Agent(std::filesystem::path dir, AgentOptions options)
    : dir_(std::move(dir)), options_(std::move(options)) {
  if (options_.binary.empty()) options_.binary = kAgentBinary;
  std::filesystem::create_directories(dir_);
  ::chmod(dir_.c_str(), 0755);
  WriteConfig();
}

Agent::~Agent() { Stop(); }

void Agent::WriteConfig() {
  std::filesystem::create_directories(state_dir());
  std::filesystem::create_directories(policy_dir());
  const std::string config =
      "[agent]\n"
      "socket = " +
      Quote(socket()) + "\n" + "admin_socket = " + Quote(admin_socket()) + "\n" +
      "admin_group = \"" + options_.admin_group + "\"\n" + "state_dir = " + Quote(state_dir()) +
      "\n" + "policy_dir = " + Quote(policy_dir()) + "\n" + "key_file = " + Quote(key_file()) +
      "\n" +
      (options_.event_loops > 0 ? "event_loops = " + std::to_string(options_.event_loops) + "\n"
                                : std::string()) +
      options_.agent_section +
      "\n[upstream]\n"
      "ca_file = " +
      Quote(options_.ca_file) + "\n" +
      "timeout_ms = " + std::to_string(options_.upstream_timeout_ms) + "\n" +
      "\n[tokens]\n"
      "refresh_ahead_seconds = " +
      std::to_string(options_.refresh_ahead_seconds) + "\n" +
      "min_ttl_seconds = " + std::to_string(options_.min_ttl_seconds) + "\n" +
      "\n[audit]\n"
      "file = " +
      Quote(audit_file()) + "\n" +
      (options_.policy_section.empty() ? "" : "\n[policy]\n" + options_.policy_section) +
      (options_.proxy_section.empty() ? "" : "\n[proxy]\n" + options_.proxy_section) +
      (options_.loopback_section.empty() ? "" : "\n[loopback]\n" + options_.loopback_section) +
      (options_.extra_toml.empty() ? "" : "\n" + options_.extra_toml);
  WriteFile(config_file(), config, 0644);
  WriteFile(policy_dir() / "test.toml", options_.policy, 0644);
}

ProcessOptions Agent::MakeProcessOptions(std::vector<std::string> extra_args) {
  if (options_.binary.empty()) throw std::runtime_error("dbproxyd was not built");
  ++starts_;
  ProcessOptions p;
  p.args = {options_.binary};
  p.args.insert(p.args.end(), extra_args.begin(), extra_args.end());
  p.env = options_.env;
  p.pass_fds = options_.pass_fds;
  p.listen_pid = options_.listen_pid;
  const std::string base = "agent-" + std::to_string(starts_);
  p.stdout_file = dir_ / (base + ".stdout");
  p.stderr_file = dir_ / (base + ".stderr");
  return p;
}

HarnessStatus Agent::Start(std::chrono::milliseconds timeout) {
  Stop();
  process_ = std::make_unique<Process>(
      MakeProcessOptions({"--config", config_file().string()}));
  const bool ready = WaitFor(
      [&] {
        return !process_->Running() ||
               (UnixSocketAccepts(socket()) && UnixSocketAccepts(admin_socket()));
      },
      timeout);
  if (ready && process_->Running()) return HarnessStatus::Ok();
  const bool exited = !process_->Running();
  const int code = exited ? process_->ExitCode().value_or(-1) : process_->Stop();
  return HarnessStatus::Fail(
      std::string(exited ? "dbproxyd exited with status " : "dbproxyd not ready in time, ") +
      std::to_string(code) + "; stderr:\n" + process_->Stderr());
}

std::optional<int> Agent::StartExpectingExit(std::chrono::milliseconds timeout) {
  Stop();
  process_ = std::make_unique<Process>(
      MakeProcessOptions({"--config", config_file().string()}));
  if (!process_->Wait(timeout)) {
    process_->Stop();
    return std::nullopt;
  }
  return process_->ExitCode();
}

int Agent::Stop() {
  if (!process_) return -1;
  if (process_->Running()) peak_rss_kib_ = std::max(peak_rss_kib_, PeakRssKib(process_->pid()));
  return process_->Stop(std::chrono::seconds(5));
}

HarnessStatus Agent::Restart() {
  Stop();
  return Start();
}

int Agent::CheckConfig(std::string* output) {
  Process check(MakeProcessOptions({"check-config", "--config", config_file().string()}));
  if (!check.Wait(std::chrono::seconds(15))) check.Stop();
  if (output != nullptr) *output = check.Stdout() + check.Stderr();
  return check.ExitCode().value_or(-1);
}

bool Agent::running() const { return process_ && process_->Running(); }

std::string Agent::Stderr() const { return process_ ? process_->Stderr() : ""; }

HttpResponse Agent::Enroll(const std::string& workspace, const std::string& credential,
                           const std::string& host, const std::string& client_id,
                           const std::string& secret) const {
  UnixHttpClient admin = AdminClient();
  const std::string target = "/v1/workspaces/" + workspace + "/credentials/" + credential +
                             "?host=" + UrlEncode(host) + "&client_id=" + UrlEncode(client_id);
  return admin.Request("PUT", target, secret, {{"Content-Type", "application/octet-stream"}});
}

std::string CtlResult::Describe() const {
  return "exit " + std::to_string(exit_code) + "\nstdout: " + out + "\nstderr: " + err;
}

Ctl::Ctl(std::filesystem::path dir, std::filesystem::path socket,
         std::filesystem::path admin_socket, std::string binary)
    : dir_(std::move(dir)),
      socket_(std::move(socket)),
      admin_socket_(std::move(admin_socket)),
      binary_(binary.empty() ? kCtlBinary : std::move(binary)) {}

CtlResult Ctl::Run(const std::vector<std::string>& args, const std::string& stdin_data,
                   const Identity& who, std::chrono::milliseconds timeout) {
  CtlResult result;
  if (binary_.empty()) {
    result.err = "dbproxyctl was not built";
    return result;
  }
  const std::string base = "ctl-" + std::to_string(++runs_);
  ProcessOptions p;
  p.args = {binary_};
  p.args.insert(p.args.end(), args.begin(), args.end());
  p.env = {"DBPROXY_SOCKET=" + socket_.string(), "DBPROXY_ADMIN_SOCKET=" + admin_socket_.string()};
  p.stdout_file = dir_ / (base + ".stdout");
  p.stderr_file = dir_ / (base + ".stderr");
  p.stdin_file = dir_ / (base + ".stdin");
  WriteFile(p.stdin_file, stdin_data, 0600);
  p.identity = who;
  try {
    Process ctl(std::move(p));
    if (!ctl.Wait(timeout)) ctl.Stop(std::chrono::seconds(1));
    result.exit_code = ctl.ExitCode().value_or(-1);
    result.out = ctl.Stdout();
    result.err = ctl.Stderr();
  } catch (const std::exception& e) {
    result.err = e.what();
  }
  std::error_code ignored;
  std::filesystem::remove(dir_ / (base + ".stdin"), ignored);
  return result;
}

}  // namespace dbproxy::testing
