#include "common/identity/saml_replay.hpp"

namespace dbproxy {

SamlReplayCache::Admission SamlReplayCache::Admit(std::string_view issuer,
                                                  std::string_view assertion_id,
                                                  std::int64_t usable_until, std::int64_t now) {
  std::string key;
  key.reserve(issuer.size() + 1 + assertion_id.size());
  key.append(issuer).append(1, '\n').append(assertion_id);
  const std::lock_guard<std::mutex> lock(mutex_);
  ForgetExpired(now);
  if (seen_.contains(key)) return Admission::kReplayed;
  if (usable_until <= now) return Admission::kFirstUse;  // no longer verifies: nothing to keep
  if (seen_.size() >= capacity_) return Admission::kFull;
  seen_.emplace(key, usable_until);
  by_expiry_.emplace(usable_until, std::move(key));
  return Admission::kFirstUse;
}

std::size_t SamlReplayCache::size() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return seen_.size();
}

void SamlReplayCache::ForgetExpired(std::int64_t now) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    seen_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

}  // namespace dbproxy
