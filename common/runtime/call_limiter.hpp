// CallLimiter: how many proxied calls may wait on the workspaces at once, per workspace and in
// total, so a hanging workspace cannot take every connection and byte of buffer the agent has.
// A call takes a Permit before it goes out and gives it back when its answer has been relayed
// (or it failed); a call over a cap is refused at once, never queued.
//
// Thread-safe: one mutex, held for a map update only (the event loops share one limiter).
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace dbproxy {

class CallLimiter {
 public:
  enum class Refusal { kPerWorkspace, kTotal };

  // A place among the calls in flight; gives it back when destroyed. Movable.
  class Permit {
   public:
    Permit(Permit&& other) noexcept;
    Permit& operator=(Permit&& other) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit();

   private:
    friend class CallLimiter;
    Permit(CallLimiter* limiter, std::string workspace);
    CallLimiter* limiter_;  // null once moved from
    std::string workspace_;
  };

  // 0: no cap. REQUIRES: the limiter outlives every Permit it gives.
  CallLimiter(std::size_t per_workspace, std::size_t total);

  // A permit for one more call to `workspace`, or the cap that refuses it (`refusal`).
  std::optional<Permit> TryAcquire(std::string_view workspace, Refusal* refusal);

  std::size_t InFlight(std::string_view workspace) const;
  std::size_t InFlight() const;
  std::size_t per_workspace() const { return per_workspace_; }
  std::size_t total() const { return total_; }

 private:
  void Release(const std::string& workspace);

  const std::size_t per_workspace_;
  const std::size_t total_;
  mutable std::mutex mutex_;  // guards what follows
  std::map<std::string, std::size_t, std::less<>> in_flight_;  // only workspaces with calls
  std::size_t all_ = 0;
};

}  // namespace dbproxy
