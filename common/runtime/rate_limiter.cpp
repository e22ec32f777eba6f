#include "common/runtime/rate_limiter.hpp"

#include <algorithm>
#include <cassert>

namespace dbproxy {
namespace {

constexpr std::int64_t kMicrosPerMinute = 60'000'000;
constexpr std::int64_t kMicrosPerSecond = 1'000'000;

void ConsiderRole(const Policy& policy, std::string_view name, std::optional<RateLimit>& best) {
  const Role* role = policy.FindRole(name);
  if (role == nullptr || !role->limits.requests_per_minute) return;
  const std::int64_t per_minute = *role->limits.requests_per_minute;
  if (!best || per_minute < best->per_minute) {
    best = RateLimit{.per_minute = per_minute, .rule = "role:" + role->name};
  }
}

}  // namespace

std::optional<RateLimit> ServiceRateLimit(const Policy& policy, const Service& service,
                                          const std::vector<std::string>* granted_roles) {
  std::optional<RateLimit> best;
  for (const std::string& name : service.roles) ConsiderRole(policy, name, best);
  if (granted_roles != nullptr) {
    for (const std::string& name : *granted_roles) ConsiderRole(policy, name, best);
  }
  return best;
}

RateLimiter::RateLimiter(std::size_t max_keys) : max_keys_(max_keys) { assert(max_keys >= 1); }

Status RateLimiter::Admit(std::string_view key, const RateLimit& limit, std::int64_t now_ms) {
  assert(limit.per_minute >= 1);
  const std::int64_t now_us = now_ms * 1000;
  // One call every `interval`; up to per_minute calls at once after a minute of silence.
  const std::int64_t interval = std::max<std::int64_t>(1, kMicrosPerMinute / limit.per_minute);
  const std::int64_t burst = interval * (limit.per_minute - 1);

  std::lock_guard lock(mutex_);
  auto found = next_us_.find(key);
  const std::int64_t next = found == next_us_.end() ? now_us : std::max(found->second, now_us);
  if (next - now_us > burst) {
    const std::int64_t wait_us = next - burst - now_us;
    Error error = MakeError(Errc::kRateLimited,
                            "more than " + std::to_string(limit.per_minute) +
                                " requests per minute for this service");
    error.rule = limit.rule;
    error.retry_after_seconds =
        static_cast<int>(std::max<std::int64_t>(1, (wait_us + kMicrosPerSecond - 1) /
                                                       kMicrosPerSecond));
    return error;
  }
  if (found == next_us_.end()) {
    if (next_us_.size() >= max_keys_) MakeRoom(now_us);
    found = next_us_.emplace(std::string(key), next).first;
  }
  found->second = next + interval;
  return Status::Ok();
}

std::size_t RateLimiter::size() const {
  std::lock_guard lock(mutex_);
  return next_us_.size();
}

void RateLimiter::MakeRoom(std::int64_t now_us) {
  std::erase_if(next_us_, [now_us](const auto& entry) { return entry.second <= now_us; });
  if (next_us_.size() < max_keys_) return;
  const auto least_debt = std::min_element(
      next_us_.begin(), next_us_.end(),
      [](const auto& a, const auto& b) { return a.second < b.second; });
  next_us_.erase(least_debt);
}

}  // namespace dbproxy
