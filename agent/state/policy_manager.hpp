// PolicyManager: loads the enforced (and optional shadow) policy into AgentState, reloads it on
// request (SIGHUP, the admin API, or a change in policy_dir seen through inotify), and swaps it
// atomically. An invalid policy is rejected with its errors and the last good one stays.
// Threading: event-loop thread only.
#pragma once

#include <string>
#include <string_view>

#include "agent/agent_state.hpp"
#include "agent/asio.hpp"
#include "common/core/result.hpp"

namespace dbproxy {

class PolicyManager {
 public:
  PolicyManager(asio::io_context& io, AgentState& state);
  ~PolicyManager();
  PolicyManager(const PolicyManager&) = delete;
  PolicyManager& operator=(const PolicyManager&) = delete;

  // Start-up load: any error is fatal to the caller.
  Status LoadInitial();
  // Parses and validates everything, then swaps. On error keeps the current policy, records the
  // error in state.policy_error and returns it. `trigger` names the cause in the log.
  Status Reload(std::string_view trigger);
  // Starts watching policy_dir (when configured and the directory exists).
  void StartWatching();
  void Stop();

 private:
  Status Load(bool initial);
  asio::awaitable<void> WatchLoop();
  asio::awaitable<void> DebouncedReload();

  asio::io_context& io_;
  AgentState& state_;
  int inotify_fd_ = -1;
  std::unique_ptr<asio::posix::stream_descriptor> watcher_;
  asio::steady_timer debounce_;
  bool reload_pending_ = false;
};

}  // namespace dbproxy
