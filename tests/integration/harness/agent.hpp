// Agent: a real dbproxyd with a generated config in a test directory. Ctl: dbproxyctl runs.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/harness/process.hpp"
#include "tests/integration/harness/unix_http_client.hpp"
#include "tests/integration/harness/util.hpp"

namespace dbproxy::testing {

struct AgentOptions {
  std::string binary;             // default: DBPROXY_AGENT_BIN
  std::string policy;             // written to policy.d/test.toml
  std::filesystem::path ca_file;  // the fake workspace's CA
  int refresh_ahead_seconds = 2;
  int min_ttl_seconds = 1;
  int upstream_timeout_ms = 5000;
  std::string admin_group = "root";
  int event_loops = 0;           // [agent] event_loops; 0: not written (one per CPU)
  std::vector<std::string> env;  // extra environment, e.g. "CREDENTIALS_DIRECTORY=/x"
  std::vector<int> pass_fds;     // socket activation: become fds 3, 4, ... (see ProcessOptions)
  bool listen_pid = false;       // socket activation: LISTEN_PID=<dbproxyd's pid>
  std::string agent_section;     // appended to the [agent] table, e.g. "max_connections = 64\n"
  std::string policy_section;    // body of a [policy] table, e.g. "shadow_dir = \"/x\"\n"
  std::string proxy_section;     // body of a [proxy] table, e.g. "enabled = false\n"
  std::string loopback_section;  // body of a [loopback] table, e.g. "listen = \"127.0.0.1:9\"\n"
  std::string extra_toml;        // appended as is: whole tables, e.g. "[[idp]]\nname = ..."
};

// Layout inside `dir`: agent.toml, agent.sock, admin.sock, state/, policy.d/, master.key,
// audit.log, agent-<n>.stdout/.stderr for the n-th start.
// Threading: Start/Stop/Restart from one thread; the path accessors from any.
class Agent {
 public:
  Agent(std::filesystem::path dir, AgentOptions options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // (Re)writes agent.toml and the policy file from the options.
  void WriteConfig();
  // Starts dbproxyd and waits (up to `timeout`) until both sockets accept connections.
  // On failure the status carries the exit code and the agent's stderr.
  HarnessStatus Start(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Starts dbproxyd expecting it to refuse to run: waits for it to exit. Returns nullopt when
  // it was still running after `timeout` (it is then stopped).
  std::optional<int> StartExpectingExit(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // SIGTERM, SIGKILL after the grace period; returns the exit code (-1 if never started).
  // Reads the run's peak RSS first (see peak_rss_kib).
  int Stop();
  HarnessStatus Restart();
  // Runs `dbproxyd check-config --config agent.toml`; returns its exit code.
  int CheckConfig(std::string* output = nullptr);

  bool running() const;
  Process* process() { return process_.get(); }
  // The current (or last) run's stderr.
  std::string Stderr() const;
  // The highest peak RSS (VmHWM, KiB) of the runs stopped through Stop() so far; -1 when none
  // was read. A run killed from outside (Process::Kill) is not counted.
  long peak_rss_kib() const { return peak_rss_kib_; }

  UnixHttpClient Client() const { return UnixHttpClient(socket().string()); }
  UnixHttpClient AdminClient() const { return UnixHttpClient(admin_socket().string()); }
  // PUT /v1/workspaces/{ws}/credentials/{cred}?host=&client_id= with the raw secret body.
  HttpResponse Enroll(const std::string& workspace, const std::string& credential,
                      const std::string& host, const std::string& client_id,
                      const std::string& secret) const;

  AgentOptions& options() { return options_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path config_file() const { return dir_ / "agent.toml"; }
  std::filesystem::path socket() const { return dir_ / "agent.sock"; }
  std::filesystem::path admin_socket() const { return dir_ / "admin.sock"; }
  std::filesystem::path state_dir() const { return dir_ / "state"; }
  std::filesystem::path store_file() const { return state_dir() / "credentials.enc"; }
  std::filesystem::path policy_dir() const { return dir_ / "policy.d"; }
  std::filesystem::path key_file() const { return dir_ / "master.key"; }
  std::filesystem::path audit_file() const { return dir_ / "audit.log"; }

 private:
  ProcessOptions MakeProcessOptions(std::vector<std::string> extra_args);

  std::filesystem::path dir_;
  AgentOptions options_;
  std::unique_ptr<Process> process_;
  int starts_ = 0;
  long peak_rss_kib_ = -1;
};

struct CtlResult {
  int exit_code = -1;  // 128 + signal when killed; -1 when it could not be run
  std::string out;
  std::string err;
  std::string Describe() const;
};

// Runs dbproxyctl with DBPROXY_SOCKET / DBPROXY_ADMIN_SOCKET pointing at an agent.
class Ctl {
 public:
  Ctl(std::filesystem::path dir, std::filesystem::path socket,
      std::filesystem::path admin_socket, std::string binary = "");
  // Runs `dbproxyctl args...` with `stdin_data` on stdin, as `who`, killed after `timeout`.
  CtlResult Run(const std::vector<std::string>& args, const std::string& stdin_data = "",
                const Identity& who = {},
                std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  std::filesystem::path dir_;
  std::filesystem::path socket_;
  std::filesystem::path admin_socket_;
  std::string binary_;
  int runs_ = 0;
};

}  // namespace dbproxy::testing
