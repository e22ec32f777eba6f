#include "agent/token/token_broker.hpp"

#include <sodium.h>

#include <algorithm>

#include "agent/blocking.hpp"
#include "agent/clock.hpp"
#include "agent/loop_waiter.hpp"
#include "common/identity/jwt_signing.hpp"
#include "common/oauth/token_timing.hpp"

namespace dbproxy {

struct TokenBroker::Flight {
  std::uint64_t generation = 0;
  // Both guarded by the broker's mutex until the grant lands; `result` is set once, before the
  // waiters are woken, and only read after.
  std::optional<Result<std::shared_ptr<const IssuedToken>>> result;
  std::vector<std::shared_ptr<LoopWaiter>> waiters;
};

TokenBroker::TokenBroker(asio::any_io_executor executor, asio::thread_pool& pool,
                         CredentialStore& store, UpstreamOptions upstream, TokenSection settings,
                         FederationSection federation)
    : TokenBroker(std::move(executor), pool, store,
                  std::make_unique<HttpTokenUpstream>(std::move(upstream)), settings, &NowUnixMs,
                  std::move(federation)) {}

TokenBroker::TokenBroker(asio::any_io_executor executor, asio::thread_pool& pool,
                         CredentialStore& store, std::unique_ptr<TokenUpstream> upstream,
                         TokenSection settings, UnixMsClock now_unix_ms,
                         FederationSection federation)
    : executor_(std::move(executor)),
      pool_(pool),
      store_(store),
      upstream_(std::move(upstream)),
      settings_(settings),
      now_unix_ms_(std::move(now_unix_ms)),
      federation_(std::move(federation)) {}

asio::awaitable<Result<std::shared_ptr<const IssuedToken>>> TokenBroker::Get(
    const TokenKey& key, int min_ttl_seconds) {
  auto usable = [&](const std::shared_ptr<const IssuedToken>& token, std::int64_t at) {
    return token && token->expires_at - at >= min_ttl_seconds;
  };
  std::shared_ptr<Flight> flight;   // the grant this call waits for
  std::shared_ptr<Flight> started;  // a grant this call starts (refresh ahead, or its own)
  std::shared_ptr<LoopWaiter> waiter;
  const asio::any_io_executor here = co_await asio::this_coro::executor;
  {
    std::unique_lock lock(mutex_);
    Entry& entry = cache_[key];
    const std::int64_t now_ms = now_unix_ms_();
    const std::int64_t now = now_ms / 1000;
    if (usable(entry.token, now)) {
      ++entry.hits;
      ++stats_.hits;
      std::shared_ptr<const IssuedToken> token = entry.token;
      const bool stale = now >= RefreshAt(token->fetched_at, token->expires_at,
                                          settings_.refresh_ahead_seconds);
      if (stale && !entry.flight && now_ms >= entry.retry_not_before_ms) {
        ++stats_.refreshes;
        started = NewFlight(entry);
      }
      lock.unlock();
      if (started) Launch(key, std::move(started));
      co_return token;
    }
    ++stats_.misses;
    if (!entry.flight) {
      if (now_ms < entry.retry_not_before_ms) {
        Error error = MakeError(Errc::kUpstreamUnavailable,
                                "token endpoint is failing; backing off before the next attempt");
        error.retry_after_seconds =
            static_cast<int>((entry.retry_not_before_ms - now_ms + 999) / 1000);
        co_return error;
      }
      started = NewFlight(entry);
    }
    flight = entry.flight;  // keeps it alive while we wait
    waiter = std::make_shared<LoopWaiter>(here);
    flight->waiters.push_back(waiter);
  }
  if (started) Launch(key, std::move(started));
  co_await waiter->Wait();
  if (!flight->result) co_return MakeError(Errc::kInternal, "token request was abandoned");
  const Result<std::shared_ptr<const IssuedToken>>& result = *flight->result;
  if (!result) co_return result.error();
  if (!usable(*result, now_unix_ms_() / 1000)) {
    co_return MakeError(Errc::kUpstreamError,
                        "workspace issued a token with less than min_ttl_seconds (" +
                            std::to_string(min_ttl_seconds) + ") of lifetime");
  }
  {
    std::lock_guard lock(mutex_);
    auto found = cache_.find(key);
    if (found != cache_.end()) ++found->second.hits;
  }
  co_return *result;
}

asio::awaitable<Result<std::shared_ptr<const IssuedToken>>> TokenBroker::Renew(
    const TokenKey& key, const IssuedToken* rejected, int min_ttl_seconds) {
  {
    std::lock_guard lock(mutex_);
    auto found = cache_.find(key);
    if (found != cache_.end() && found->second.token.get() == rejected) {
      found->second.token.reset();
    }
  }
  Result<std::shared_ptr<const IssuedToken>> renewed = co_await Get(key, min_ttl_seconds);
  co_return renewed;
}

std::shared_ptr<TokenBroker::Flight> TokenBroker::NewFlight(Entry& entry) {
  entry.flight = std::make_shared<Flight>();
  entry.flight->generation = generation_;
  return entry.flight;
}

void TokenBroker::Launch(const TokenKey& key, std::shared_ptr<Flight> flight) {
  asio::co_spawn(executor_, Fly(key, std::move(flight)), asio::detached);
}

asio::awaitable<void> TokenBroker::Fly(TokenKey key, std::shared_ptr<Flight> flight) {
  TokenResult outcome = co_await Obtain(key);
  Land(key, flight, std::move(outcome));
}

asio::awaitable<TokenBroker::TokenResult> TokenBroker::Obtain(const TokenKey& key) {
  // An owned copy, taken under the store's lock and released at once: the grant below may take
  // the whole upstream timeout, and the event loop takes the same lock (status, metrics).
  Result<CredentialCopy> credential = store_.CopyCredential(key.workspace, key.credential);
  if (!credential) co_return credential.error();
  Result<TokenGrant> grant = co_await Request(*credential, key.scope);
  if (!grant) co_return grant.error();
  const std::int64_t now = now_unix_ms_() / 1000;
  auto token = std::make_shared<IssuedToken>();
  token->access_token = std::move(grant->access_token);
  token->scope = grant->scope;
  token->host = credential->host;
  token->fetched_at = now;
  token->expires_at = now + grant->expires_in;
  co_return std::shared_ptr<const IssuedToken>(std::move(token));
}

void TokenBroker::Land(const TokenKey& key, const std::shared_ptr<Flight>& flight,
                       TokenResult outcome) {
  std::vector<std::shared_ptr<LoopWaiter>> waiters;
  {
    std::lock_guard lock(mutex_);
    if (flight->generation == generation_) {  // else a Forget() happened: drop the result
      Entry& entry = cache_[key];
      if (outcome) {
        entry.token = *outcome;
        entry.failures = 0;
        entry.retry_not_before_ms = 0;
      } else if (outcome.error().code != Errc::kNotFound) {
        ++entry.failures;
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        entry.retry_not_before_ms =
            now_unix_ms_() +
            BackoffMs(entry.failures, unit(jitter_), outcome.error().retry_after_seconds);
      }
    }
    if (auto it = cache_.find(key); it != cache_.end() && it->second.flight == flight) {
      it->second.flight.reset();
    }
    ++(outcome ? stats_.grants : stats_.failures);
    flight->result = std::move(outcome);
    waiters.swap(flight->waiters);
  }
  for (std::shared_ptr<LoopWaiter>& waiter : waiters) LoopWaiter::Wake(std::move(waiter));
}

asio::awaitable<Result<OidcEndpoints>> TokenBroker::Discover(const std::string& host) {
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    if (auto cached = discovery_.find(host); cached != discovery_.end()) co_return cached->second;
    generation = generation_;
  }
  Result<OidcEndpoints> endpoints =
      co_await RunBlocking(pool_, [&] { return upstream_->Discover(host); });
  // A Forget() meanwhile may mean a re-enrolled host: do not cache what was asked before it.
  std::lock_guard lock(mutex_);
  if (endpoints && generation == generation_) discovery_[host] = *endpoints;
  co_return endpoints;
}

asio::awaitable<Result<TokenGrant>> TokenBroker::Request(const CredentialCopy& credential,
                                                         const std::string& scope) {
  Result<OidcEndpoints> endpoints = co_await Discover(credential.host);
  if (!endpoints) co_return endpoints.error();
  Result<TokenGrant> grant = co_await RunBlocking(pool_, [&]() -> Result<TokenGrant> {
    if (!credential.federated) {
      return upstream_->Grant(endpoints->token_endpoint, credential.client_id, credential.secret,
                              scope);
    }
    Result<SecretBytes> assertion = SignAssertion(credential);
    if (!assertion) return std::move(assertion).error();
    return upstream_->Exchange(endpoints->token_endpoint, credential.client_id, *assertion, scope);
  });
  co_return grant;
}

Result<SecretBytes> TokenBroker::SignAssertion(const CredentialCopy& credential) {
  const std::int64_t now = now_unix_ms_() / 1000;
  Result<SigningKeyCopy> stored = store_.SigningKeyInUse(federation_.algorithm, now);
  if (!stored) return std::move(stored).error();
  Result<JwtSigningKey> key = JwtSigningKey::FromPem(stored->private_key_pem);
  if (!key) return std::move(key).error();
  unsigned char nonce[16];
  randombytes_buf(nonce, sizeof nonce);
  char jti[2 * sizeof nonce + 1];
  sodium_bin2hex(jti, sizeof jti, nonce, sizeof nonce);
  const nlohmann::json claims = {{"iss", federation_.issuer},
                                 {"sub", credential.subject},
                                 {"aud", credential.audience},
                                 {"iat", now},
                                 {"nbf", now},
                                 {"exp", now + federation_.assertion_lifetime_seconds},
                                 {"jti", std::string(jti)}};
  return SignJwt(nullptr, claims, *key);
}

asio::awaitable<Status> TokenBroker::Validate(const CredentialCopy& credential,
                                              const std::string& scope) {
  Result<TokenGrant> grant = co_await Request(credential, scope);
  if (!grant) co_return grant.error();
  co_return Status::Ok();
}

void TokenBroker::Forget(const std::string& workspace, const std::string& credential) {
  std::lock_guard lock(mutex_);
  ++generation_;
  std::erase_if(cache_, [&](const auto& item) {
    return item.first.workspace == workspace &&
           (credential.empty() || item.first.credential == credential);
  });
  // Host may have changed with a re-enrolled workspace: forget its discovery too.
  discovery_.clear();
}

std::size_t TokenBroker::size() const {
  std::lock_guard lock(mutex_);
  return cache_.size();
}

TokenBrokerStats TokenBroker::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::vector<TokenInfo> TokenBroker::List() const {
  std::lock_guard lock(mutex_);
  std::vector<TokenInfo> out;
  for (const auto& [key, entry] : cache_) {
    if (!entry.token && !entry.flight) continue;
    TokenInfo info;
    info.key = key;
    info.hits = entry.hits;
    info.failures = entry.failures;
    info.refreshing = entry.flight != nullptr;
    if (entry.token) {
      info.fetched_at = entry.token->fetched_at;
      info.expires_at = entry.token->expires_at;
    }
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace dbproxy
