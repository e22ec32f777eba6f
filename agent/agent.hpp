// Agent: dbproxyd's composition root. Loads state, binds both sockets, runs the event loop, and
// shuts down from one place (signal -> stop accepting -> drain -> return).
#pragma once

#include <memory>
#include <vector>

#include "agent/agent_state.hpp"
#include "agent/asio.hpp"
#include "agent/server/http_server.hpp"
#include "agent/notify.hpp"
#include "agent/state/policy_manager.hpp"
#include "common/core/config.hpp"
#include "common/core/result.hpp"

namespace dbproxy {

class Agent {
 public:
  // Everything that can fail at start-up fails here, with a message that names the file or
  // setting: master key, credential store, policy, audit file, admin group, sockets.
  static Result<std::unique_ptr<Agent>> Create(AgentConfig config);
  ~Agent();

  // Runs until SIGTERM/SIGINT. Returns the process exit code.
  int Run();

  PolicyManager& policy_manager() { return *policy_manager_; }

 private:
  Agent() = default;
  void Shutdown();
  asio::awaitable<void> Drain();

  asio::io_context io_{1};
  asio::thread_pool pool_{4};
  AgentState state_;
  std::unique_ptr<PolicyManager> policy_manager_;
  std::unique_ptr<HttpServer> client_server_;
  std::unique_ptr<HttpServer> admin_server_;
  std::vector<std::unique_ptr<HttpServer>> loopback_servers_;  // [loopback] listen
  // Every server, for start, stop and drain.
  std::vector<HttpServer*> Servers() const;
  std::unique_ptr<asio::signal_set> signals_;
  std::unique_ptr<ServiceWatchdog> watchdog_;
  bool shutting_down_ = false;
};

}  // namespace dbproxy
