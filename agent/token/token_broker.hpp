// TokenBroker: the cache of Databricks OAuth tokens, keyed by (workspace, credential, scope).
//
// - Single flight: however many callers miss at once, one upstream grant runs per key.
// - Refresh ahead: a token past RefreshAt() is refreshed in the background while still served.
// - Failures back off exponentially with jitter, honouring Retry-After; while backing off, a
//   cached token that is still valid keeps being served.
// - Never returns a token with less than the caller's min_ttl_seconds left.
// Tokens live in SecretBytes; the broker never logs them.
// Threading: Get, Renew, Forget, List and the getters from any event loop (the agent runs one
// per CPU); one mutex guards the cache, held only for lookups and updates, never across a
// co_await. Grants run as coroutines on the broker's own executor; their upstream calls
// (TokenUpstream) on the blocking pool through RunBlocking, with a copy of the credential, so a
// slow token endpoint delays only the callers waiting for that grant. A caller waiting for a
// grant waits on a timer of its own event loop, woken from the loop that landed the grant.
// Validate runs on the broker's executor.
// A federated credential (no secret) gets its token by an RFC 8693 exchange of a JWT the broker
// signs with the store's signing key ([federation]: issuer, algorithm, lifetime); caching,
// single flight, refresh ahead and backoff are the same.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "agent/asio.hpp"
#include "agent/state/credential_store.hpp"
#include "agent/token/token_upstream.hpp"
#include "agent/token/upstream_http.hpp"
#include "common/core/config.hpp"
#include "common/core/result.hpp"
#include "common/core/secret_bytes.hpp"
#include "common/oauth/oauth.hpp"

namespace dbproxy {

struct TokenKey {
  std::string workspace;
  std::string credential;
  std::string scope;  // canonical (CanonicalScope)
  auto operator<=>(const TokenKey&) const = default;
};

struct IssuedToken {
  SecretBytes access_token;
  std::string scope;
  std::string host;
  std::int64_t fetched_at = 0;  // unix seconds
  std::int64_t expires_at = 0;
};

// Counters since start, for metrics. Monotonic.
struct TokenBrokerStats {
  std::uint64_t hits = 0;       // answered from the cache
  std::uint64_t misses = 0;     // no usable cached token: waited for (or refused during) a grant
  std::uint64_t refreshes = 0;  // refresh-ahead grants started while a cached token was served
  std::uint64_t grants = 0;     // grants that succeeded
  std::uint64_t failures = 0;   // grants that failed
};

struct TokenInfo {  // metadata only, for the admin API
  TokenKey key;
  std::int64_t fetched_at = 0;
  std::int64_t expires_at = 0;
  std::uint64_t hits = 0;
  int failures = 0;
  bool refreshing = false;
};

// Wall-clock time in Unix milliseconds (NowUnixMs in the agent; a fake in tests).
using UnixMsClock = std::function<std::int64_t()>;

class TokenBroker {
 public:
  // The agent's broker: grants over HTTPS (HttpTokenUpstream with `upstream`), system clock.
  TokenBroker(asio::any_io_executor executor, asio::thread_pool& pool, CredentialStore& store,
              UpstreamOptions upstream, TokenSection settings, FederationSection federation);
  // With explicit seams (tests). REQUIRES: `upstream` and `now_unix_ms` are set; `store` and
  // `pool` outlive the broker.
  TokenBroker(asio::any_io_executor executor, asio::thread_pool& pool, CredentialStore& store,
              std::unique_ptr<TokenUpstream> upstream, TokenSection settings,
              UnixMsClock now_unix_ms, FederationSection federation = {});

  // A token for `key` with at least `min_ttl_seconds` left. Errors: kNotFound (not enrolled),
  // kUpstreamUnavailable (with retry_after_seconds), kUpstreamError, kUpstreamTimeout,
  // kInvalidCredential.
  // REQUIRES: `key` outlives the co_await (coroutine parameters are references: g++ 12
  // destroys by-value coroutine arguments twice when they are temporaries in co_await).
  asio::awaitable<Result<std::shared_ptr<const IssuedToken>>> Get(const TokenKey& key,
                                                                  int min_ttl_seconds);

  // For a token the workspace refused (an auth-layer 401/403 on a proxied call): drops it from
  // the cache if it is still the cached one, then returns a token as Get() does — a new grant,
  // or the one another caller already obtained in its place. Call at most once per request.
  // REQUIRES: as Get(); `rejected` may dangle (it is only compared).
  asio::awaitable<Result<std::shared_ptr<const IssuedToken>>> Renew(const TokenKey& key,
                                                                    const IssuedToken* rejected,
                                                                    int min_ttl_seconds);

  // A fresh grant for a credential that is not stored yet (enrolment check); bypasses the cache.
  // REQUIRES: the arguments outlive the co_await.
  asio::awaitable<Status> Validate(const CredentialCopy& credential, const std::string& scope);

  // Drops cached tokens of a workspace (and only `credential` of it when non-empty). Grants
  // already in flight for them are not cached when they land (their waiters still get them).
  void Forget(const std::string& workspace, const std::string& credential);

  std::vector<TokenInfo> List() const;
  std::size_t size() const;
  TokenBrokerStats stats() const;

 private:
  struct Flight;
  struct Entry {
    std::shared_ptr<const IssuedToken> token;
    std::shared_ptr<Flight> flight;  // set while a grant is running
    std::uint64_t hits = 0;
    int failures = 0;
    std::int64_t retry_not_before_ms = 0;
  };
  using TokenResult = Result<std::shared_ptr<const IssuedToken>>;

  // Registers a new flight in `entry` (under mutex_); Launch starts it, after the lock is
  // released.
  std::shared_ptr<Flight> NewFlight(Entry& entry);
  void Launch(const TokenKey& key, std::shared_ptr<Flight> flight);
  asio::awaitable<void> Fly(TokenKey key, std::shared_ptr<Flight> flight);
  // One grant for `key`: copies the credential out of the store, then discovery and the grant
  // on the blocking pool.
  asio::awaitable<TokenResult> Obtain(const TokenKey& key);
  // Records a landed grant in the cache (unless a Forget() came first) and wakes its waiters.
  void Land(const TokenKey& key, const std::shared_ptr<Flight>& flight, TokenResult outcome);
  asio::awaitable<Result<OidcEndpoints>> Discover(const std::string& host);
  // Discovery, then a client-credentials grant or (federated) a token exchange.
  asio::awaitable<Result<TokenGrant>> Request(const CredentialCopy& credential,
                                              const std::string& scope);
  // The JWT a federated credential presents (blocking: the first one may create the signing key).
  Result<SecretBytes> SignAssertion(const CredentialCopy& credential);

  asio::any_io_executor executor_;
  asio::thread_pool& pool_;
  CredentialStore& store_;
  std::unique_ptr<TokenUpstream> upstream_;
  TokenSection settings_;
  UnixMsClock now_unix_ms_;
  FederationSection federation_;
  mutable std::mutex mutex_;  // guards what follows
  std::map<TokenKey, Entry> cache_;
  std::map<std::string, OidcEndpoints> discovery_;  // by host
  std::uint64_t generation_ = 0;                    // bumped by Forget()
  std::mt19937_64 jitter_{std::random_device{}()};
  TokenBrokerStats stats_;
};

}  // namespace dbproxy
