// The agent's memory of OneTimeUse SAML assertions (SAML 2.0 core, section 2.5.1.5): each may
// be presented once while it is valid; a second presentation of the same issuer and assertion
// ID is a replay. An entry is kept until the assertion stops verifying (its NotOnOrAfter plus
// the provider's clock skew), then forgotten.
//
// Bounded: at most `capacity` assertions are remembered. When that many are still valid, a new
// one is refused (kFull) rather than another forgotten, which would let that one be replayed.
//
// Pure memory work: the caller passes the clock. Thread-safe (one mutex, held only for the
// map updates).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dbproxy {

inline constexpr std::size_t kDefaultSamlReplayCapacity = 65536;

class SamlReplayCache {
 public:
  enum class Admission {
    kFirstUse,  // not seen while valid: remembered now
    kReplayed,  // presented before and still valid: refuse it
    kFull,      // `capacity` valid assertions are remembered already: refuse it
  };

  explicit SamlReplayCache(std::size_t capacity = kDefaultSamlReplayCapacity)
      : capacity_(capacity) {}

  // Admits the assertion `assertion_id` of `issuer`, usable until `usable_until` (unix seconds;
  // it verifies while now < usable_until), at `now`. Forgets the entries that expired first.
  Admission Admit(std::string_view issuer, std::string_view assertion_id,
                  std::int64_t usable_until, std::int64_t now);

  std::size_t size() const;

 private:
  void ForgetExpired(std::int64_t now);  // REQUIRES: mutex_ held

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  // issuer + '\n' + ID (neither holds a newline: both are checked text) -> usable_until.
  std::unordered_map<std::string, std::int64_t> seen_;
  std::multimap<std::int64_t, std::string> by_expiry_;  // usable_until -> key of seen_
};

}  // namespace dbproxy
