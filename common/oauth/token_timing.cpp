#include "common/oauth/token_timing.hpp"

#include <algorithm>

namespace dbproxy {

std::int64_t RefreshAt(std::int64_t fetched_at, std::int64_t expires_at, int refresh_ahead_seconds) {
  const std::int64_t lifetime = std::max<std::int64_t>(0, expires_at - fetched_at);
  const std::int64_t ahead = std::min<std::int64_t>(refresh_ahead_seconds, lifetime / 2);
  return expires_at - ahead;
}

std::int64_t BackoffMs(int failures, double random01, int retry_after_seconds) {
  const int doublings = std::clamp(failures - 1, 0, 20);
  const std::int64_t ceiling = std::min(kBackoffCapMs, kBackoffBaseMs << doublings);
  const double jitter = std::clamp(random01, 0.0, 1.0);
  const auto delay = static_cast<std::int64_t>(static_cast<double>(ceiling) * (0.5 + jitter / 2));
  return std::max<std::int64_t>(delay, std::int64_t{retry_after_seconds} * 1000);
}

}  // namespace dbproxy
