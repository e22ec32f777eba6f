// Proxy mode: the per-service `requests_per_minute` role limit.
//
// A generic cell-rate limiter (GCRA, equivalent to a token bucket): a key limited to N per
// minute may make N calls at once after being idle for a minute, then one every 60/N seconds.
// State is one integer per key; a key whose bucket has refilled carries no state and is
// forgotten, so memory is bounded by the keys active in the last minute and by `max_keys`.
// Time is passed in (steady-clock milliseconds), never read.
//
// Threading: thread-safe (one internal mutex, held for a map lookup).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/policy/policy.hpp"
#include "common/core/result.hpp"

namespace dbproxy {

// The requests_per_minute that applies to a service: the smallest over its own roles and its
// granted ones (the strictest limit wins, whichever role allowed the call, so a grant cannot
// loosen the pace of a service). `rule` is "role:<name>" of that role (the first such role when
// several share the smallest value). nullopt when no role of the service has the limit.
struct RateLimit {
  std::int64_t per_minute = 0;
  std::string rule;
};
std::optional<RateLimit> ServiceRateLimit(const Policy& policy, const Service& service,
                                          const std::vector<std::string>* granted_roles);

class RateLimiter {
 public:
  // At most `max_keys` keys hold state. When a new key arrives at the cap, keys that have
  // refilled are dropped; if none has, the key with the least debt is (it is closest to
  // having refilled, so forgetting it lets through the fewest extra calls).
  // REQUIRES: max_keys >= 1.
  explicit RateLimiter(std::size_t max_keys = 4096);

  // Counts one call for `key` (the service name) against `limit`, at `now_ms` (steady clock,
  // non-decreasing per limiter). OK when the call may proceed. Otherwise kRateLimited with
  // `rule` = limit.rule and retry_after_seconds >= 1 (when one more call would be admitted);
  // a refused call is not counted.
  // REQUIRES: limit.per_minute >= 1.
  Status Admit(std::string_view key, const RateLimit& limit, std::int64_t now_ms);

  // Keys currently holding state (for tests and metrics).
  std::size_t size() const;

 private:
  void MakeRoom(std::int64_t now_us);

  const std::size_t max_keys_;
  mutable std::mutex mutex_;
  // Theoretical arrival time of the next call, microseconds on the caller's steady clock.
  std::map<std::string, std::int64_t, std::less<>> next_us_;
};

}  // namespace dbproxy
