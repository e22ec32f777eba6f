// IdpRegistry: the identity providers of agent.toml ([[idp]]), their cached JWKS, and the
// verification of a JWT a caller presents.
//
// - The idp is chosen by the token's "iss"; the token is then checked by VerifyJwt against that
//   idp's cached JWKS and JwtPolicy.
// - A JWKS is fetched on first use (or by Prefetch at start-up), from jwks_uri or, when that is
//   empty, from the jwks_uri of the issuer's OpenID Connect discovery document (whose "issuer"
//   must equal the configured one).
// - Key rotation: a token whose key the JWKS lacks (JwtErrc::kUnknownKey) triggers one refetch,
//   at most once per kJwksRefetchSeconds per idp, and is then checked again. A failed fetch
//   keeps the cached keys. Without cached keys, a failed fetch is retried at most once per
//   kJwksRetrySeconds; callers in between are answered "unavailable" at once.
// - Single flight: concurrent callers that need a fetch of the same idp wait for one fetch.
// Secrets: a token is a bearer credential; no reason, log detail or List() field contains it.
// Threading: Verify, Prefetch and List from any event loop. One mutex guards the cached state,
// held only for lookups and updates, never across a co_await. Fetches run as coroutines on the
// registry's executor, their blocking I/O on the pool (RunBlocking); a caller waiting for a
// fetch waits on a timer of its own event loop, woken through a post to that loop.
// REQUIRES: the registry outlives its executor's last run (fetches in flight refer to it), and
// `pool` outlives the registry.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/asio.hpp"
#include "agent/identity/jwks_source.hpp"
#include "common/core/config.hpp"
#include "common/identity/jwt.hpp"

namespace dbproxy {

inline constexpr std::int64_t kJwksRefetchSeconds = 60;
inline constexpr std::int64_t kJwksRetrySeconds = 5;

struct IdpVerdict {
  enum class Kind {
    kVerified,     // idp, jwt and attributes are set
    kRefused,      // the token is invalid for us: answer 401 invalid_identity
    kUnavailable,  // the idp's keys could not be fetched and none are cached: answer 503
  };
  Kind kind = Kind::kRefused;
  std::string idp{};  // the idp's name; "" when no idp matched
  VerifiedJwt jwt{};
  std::map<std::string, ClaimValue> attributes{};  // ClaimAttributes for the idp's `claims`
  // Refused/unavailable: why, fit for the caller ("token expired at ...", "issuer not
  // configured"); never contains the token.
  std::string reason{};
  // Unavailable: the fetch failure for the local log (URL, curl error). Never sent to a client.
  std::string log_detail{};
};

struct IdpInfo {  // for dbproxyctl idp list
  std::string name;
  std::string issuer;
  std::string jwks_uri;         // configured, or found by discovery; "" before discovery ran
  bool discovery = false;       // jwks_uri comes from discovery
  std::size_t keys = 0;         // usable keys cached
  std::int64_t last_fetch = 0;  // unix seconds of the last successful fetch; 0: never
  std::string last_error;       // of the last fetch attempt; "" when it succeeded
};

class IdpRegistry {
 public:
  // The agent's registry: HttpJwksSource.
  IdpRegistry(asio::any_io_executor executor, asio::thread_pool& pool,
              const std::vector<IdpSection>& idps);
  // With an explicit source (tests). REQUIRES: `source` is set; `idps` passed
  // ParseAgentConfig (names unique, policies valid).
  IdpRegistry(asio::any_io_executor executor, asio::thread_pool& pool,
              const std::vector<IdpSection>& idps, std::unique_ptr<JwksSource> source);
  ~IdpRegistry();
  IdpRegistry(const IdpRegistry&) = delete;
  IdpRegistry& operator=(const IdpRegistry&) = delete;

  // Checks `token` (a compact JWS) at `now_unix`. Never fails otherwise: every outcome is a
  // verdict. REQUIRES: the bytes `token` views outlive the co_await.
  asio::awaitable<IdpVerdict> Verify(std::string_view token, std::int64_t now_unix);

  // Verify with the cached keys only: no fetch, no wait (dbproxyctl idp test). Without cached
  // keys: kUnavailable, saying so.
  IdpVerdict VerifyCached(std::string_view token, std::int64_t now_unix) const;

  // Starts a fetch for every idp without cached keys, without waiting (best effort: failures
  // are recorded for List() and retried on first use).
  void Prefetch(std::int64_t now_unix);

  std::vector<IdpInfo> List() const;
  bool empty() const { return idps_.empty(); }

 private:
  struct Flight;
  struct Idp;
  using JwksPtr = std::shared_ptr<const Jwks>;

  // Parses `token` into `parsed` and returns the index of the idp of its iss (verdict.idp set),
  // or idps_.size() with verdict.reason set.
  std::size_t Choose(std::string_view token, std::optional<ParsedJwt>& parsed,
                     IdpVerdict& verdict) const;
  // The verdict for VerifyJwt's answer `checked` on a token of idps_[index].
  IdpVerdict Conclude(std::size_t index, JwtVerification checked, IdpVerdict verdict) const;
  // The keys to check a token of idps_[index] with: the cached ones, or (when none are cached,
  // or `refresh` and the cache is still `seen`) those of a fetch this call starts or joins,
  // rate-limited as the file comment says. Null when there are none.
  asio::awaitable<JwksPtr> Keys(std::size_t index, std::int64_t now_unix, bool refresh,
                                JwksPtr seen);
  // Registers a new flight (under mutex_); Launch starts it once the lock is released.
  std::shared_ptr<Flight> NewFlight(Idp& idp, std::int64_t now_unix);
  void Launch(std::size_t index, std::shared_ptr<Flight> flight);
  asio::awaitable<void> Fly(std::size_t index, std::shared_ptr<Flight> flight);
  // Records a fetch (success or failure) and wakes its waiters.
  void Land(std::size_t index, const std::shared_ptr<Flight>& flight, Result<Jwks> fetched,
            std::string discovered_uri);
  IdpVerdict Unavailable(std::size_t index) const;

  asio::any_io_executor executor_;
  asio::thread_pool& pool_;
  std::unique_ptr<JwksSource> source_;
  std::vector<std::unique_ptr<Idp>> idps_;  // fixed after construction; state inside guarded
  mutable std::mutex mutex_;                // guards the mutable state of each Idp
};

}  // namespace dbproxy
