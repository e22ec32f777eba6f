// When to refresh a cached token and how long to back off after failures. Pure: the caller
// passes the clock and the randomness.
#pragma once

#include <cstdint>

namespace dbproxy {

// Unix seconds at which a token fetched at `fetched_at` and expiring at `expires_at` should be
// refreshed: `refresh_ahead_seconds` before expiry, but never earlier than half-way through its
// lifetime (a short-lived token would otherwise be refreshed on every request).
std::int64_t RefreshAt(std::int64_t fetched_at, std::int64_t expires_at, int refresh_ahead_seconds);

inline constexpr std::int64_t kBackoffBaseMs = 500;
inline constexpr std::int64_t kBackoffCapMs = 60'000;

// Delay before the next attempt after `failures` (>= 1) consecutive failures: "equal jitter"
// exponential backoff, uniformly in [d/2, d] with d = min(cap, base * 2^(failures-1)), using
// `random01` in [0, 1). Never less than `retry_after_seconds` when the server asked for that.
std::int64_t BackoffMs(int failures, double random01, int retry_after_seconds);

}  // namespace dbproxy
