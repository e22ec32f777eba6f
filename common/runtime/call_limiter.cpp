#include "common/runtime/call_limiter.hpp"

#include <utility>

namespace dbproxy {

CallLimiter::Permit::Permit(CallLimiter* limiter, std::string workspace)
    : limiter_(limiter), workspace_(std::move(workspace)) {}

CallLimiter::Permit::Permit(Permit&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)), workspace_(std::move(other.workspace_)) {}

CallLimiter::Permit& CallLimiter::Permit::operator=(Permit&& other) noexcept {
  if (this != &other) {
    if (limiter_ != nullptr) limiter_->Release(workspace_);
    limiter_ = std::exchange(other.limiter_, nullptr);
    workspace_ = std::move(other.workspace_);
  }
  return *this;
}

CallLimiter::Permit::~Permit() {
  if (limiter_ != nullptr) limiter_->Release(workspace_);
}

CallLimiter::CallLimiter(std::size_t per_workspace, std::size_t total)
    : per_workspace_(per_workspace), total_(total) {}

std::optional<CallLimiter::Permit> CallLimiter::TryAcquire(std::string_view workspace,
                                                           Refusal* refusal) {
  std::lock_guard lock(mutex_);
  if (total_ != 0 && all_ >= total_) {
    if (refusal != nullptr) *refusal = Refusal::kTotal;
    return std::nullopt;
  }
  auto found = in_flight_.find(workspace);
  if (per_workspace_ != 0 && found != in_flight_.end() && found->second >= per_workspace_) {
    if (refusal != nullptr) *refusal = Refusal::kPerWorkspace;
    return std::nullopt;
  }
  if (found == in_flight_.end()) found = in_flight_.emplace(std::string(workspace), 0).first;
  ++found->second;
  ++all_;
  return Permit(this, std::string(workspace));
}

void CallLimiter::Release(const std::string& workspace) {
  std::lock_guard lock(mutex_);
  const auto found = in_flight_.find(workspace);
  if (found == in_flight_.end()) return;
  if (--found->second == 0) in_flight_.erase(found);
  --all_;
}

std::size_t CallLimiter::InFlight(std::string_view workspace) const {
  std::lock_guard lock(mutex_);
  const auto found = in_flight_.find(workspace);
  return found == in_flight_.end() ? 0 : found->second;
}

std::size_t CallLimiter::InFlight() const {
  std::lock_guard lock(mutex_);
  return all_;
}

}  // namespace dbproxy
