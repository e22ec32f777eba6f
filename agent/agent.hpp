// Agent: dbproxyd's composition root. Loads state, binds the sockets, runs the event loops, and
// shuts down from one place (signal -> stop accepting -> drain -> return).
//
// Event loops: the main loop (the thread that calls Run) serves every socket and owns what
// operators change (admin socket, policy reloads, signals, token grants, the watchdog). One
// worker loop per further CPU ([agent] event_loops) serves agent.sock and the loopback
// listeners too, each with replicas of those servers (HttpServer::Replicate: the kernel hands
// each new connection to one loop, which serves it to the end) and its own UpstreamClient.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
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
  // A loop beside the main one. Its servers and client are used on its thread only (the main
  // loop posts Start, Stop and CloseAll to it).
  struct WorkerLoop {
    asio::io_context io{1};
    // Keeps the loop running until Drain is over (the watchdog posts to it until then).
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    std::unique_ptr<UpstreamClient> upstream;
    std::vector<std::unique_ptr<HttpServer>> servers;
    std::thread thread;
    // When the loop last ran a handler the watchdog posted (steady clock, ms).
    std::atomic<std::int64_t> answered_ms{0};
  };

  Agent() = default;
  // Creates the worker loops with their replicas of agent.sock and the loopback listeners
  // (started by Run).
  void CreateWorkerLoops();
  void Shutdown();
  asio::awaitable<void> Drain();
  // For the watchdog: whether every worker loop ran the check posted one `period` ago (and
  // posts the next). A loop that did not is stuck: the keep-alive is withheld.
  bool WorkersResponsive(std::chrono::microseconds period);
  // Runs `action` on every worker loop's servers, on that loop.
  void OnWorkerServers(void (HttpServer::*action)());

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
  std::vector<std::unique_ptr<WorkerLoop>> workers_;  // destroyed before state_
  bool shutting_down_ = false;
};

}  // namespace dbproxy
