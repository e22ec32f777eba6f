// Everything the fake workspace remembers between requests.
//
// Threading: the server may run several io_context threads (--threads); it holds `mutex` around
// every handler call (handlers never suspend), so handlers themselves take no locks. Every
// collection that requests can grow is bounded (see the k* limits).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "tests/fake_workspace/http_types.hpp"

namespace dbproxy::fake {

using Clock = std::chrono::system_clock;

struct ClientRecord {
  std::string secret;
  std::optional<std::vector<std::string>> allowed_scopes = std::nullopt;  // nullopt: any scope
};

struct TokenRecord {
  std::string client_id;
  std::vector<std::string> scopes;
  Clock::time_point expiry;
};

enum class FaultTarget { kToken, kApi };

// A scripted misbehaviour applied to the next `remaining` requests of one target.
struct Fault {
  int remaining = 1;
  int status = 0;                          // 0: no faulted answer (latency only)
  std::optional<int> retry_after_seconds;  // adds Retry-After
  int latency_ms = 0;                      // applied before any answer
  bool drop = false;                       // close the connection without answering
  // Answer (normally, or with `status`) but send only this many bytes of the body after a head
  // that announces all of it, then close: a reset in the middle of the answer.
  std::optional<std::size_t> cut_after_bytes;
  // API requests only: read the head and this many bytes of the request body, then close the
  // connection without answering: a reset in the middle of the caller's upload.
  std::optional<std::size_t> drop_after_request_bytes;
  std::optional<nlohmann::json> body;      // replaces the default error body
};

struct Counters {
  std::uint64_t token_requests = 0;
  std::uint64_t api_requests = 0;
  std::map<std::string, std::uint64_t> token_grants;  // client_id -> successful grants
};

struct LoggedRequest {
  std::string method = {};
  std::string target = {};
  HeaderList headers = {};
  std::size_t body_bytes = 0;
  std::optional<std::string> body = std::nullopt;  // kept when at most kLoggedBodyLimit bytes
};

// Keys are kept in insertion order so the oldest entry is evicted when `limit` is reached.
template <class Key>
struct BoundedJsonMap {
  std::size_t limit = 10000;
  std::map<Key, nlohmann::json> items;
  std::deque<Key> order;

  void Put(const Key& key, nlohmann::json value) {
    if (items.insert_or_assign(key, std::move(value)).second) order.push_back(key);
    while (items.size() > limit && !order.empty()) {
      items.erase(order.front());
      order.pop_front();
    }
  }
  nlohmann::json* Find(const Key& key) {
    auto it = items.find(key);
    return it == items.end() ? nullptr : &it->second;
  }
};

// The fake identity provider (oauth/fake_idp.hpp).
struct IdpKey {
  std::string kid;
  std::shared_ptr<EVP_PKEY> key;  // P-256
};
struct IdpState {
  std::vector<IdpKey> keys;  // the current key last; at most two are published
  bool jwks_down = false;
  int jwks_fetches = 0;
  int discovery_fetches = 0;
  int next_kid = 1;
};

// A public key a federation policy trusts (oauth/jwk.hpp).
enum class JwsAlgorithm { kRs256, kEs256 };
struct VerificationKey {
  std::string kid = {};                           // empty when the JWK has none
  JwsAlgorithm algorithm = JwsAlgorithm::kEs256;  // RSA keys verify RS256, P-256 keys ES256
  std::shared_ptr<EVP_PKEY> key = nullptr;
};

// An OAuth token federation policy (oauth/federation_control.hpp).
struct FederationPolicy {
  std::string id = {};
  std::optional<std::string> client_id = std::nullopt;  // nullopt: account-wide federation
  std::string issuer = {};
  std::vector<std::string> audiences = {};
  std::optional<std::string> subject = std::nullopt;  // required for a service principal's policy
  std::string subject_claim = "sub";
  std::optional<std::string> jwks_json = std::nullopt;  // as given, for listing
  std::vector<VerificationKey> keys = {};               // parsed from jwks_json
};

struct FederationStats {
  std::uint64_t attempted = 0;
  std::uint64_t granted = 0;
  std::uint64_t refused = 0;
  nlohmann::json last_refusal = nullptr;  // {"error", "error_description"}
  nlohmann::json last_grant = nullptr;    // {"client_id", "subject", "scope"}
};

struct FederationState {
  static constexpr std::size_t kPolicyLimit = 1000;
  std::vector<FederationPolicy> policies = {};  // in creation order
  FederationStats stats = {};
};

struct WorkspaceState {
  static constexpr std::size_t kRequestLogLimit = 1000;
  static constexpr std::size_t kTokenLimit = 100000;
  static constexpr std::size_t kFaultQueueLimit = 1000;
  static constexpr std::size_t kLoggedBodyLimit = 4096;

  std::mutex mutex;  // see the threading note above

  std::string base_url;  // "https://127.0.0.1:PORT"
  std::chrono::seconds token_lifetime{3600};

  std::map<std::string, ClientRecord> clients;
  std::unordered_map<std::string, TokenRecord> tokens;
  Counters counters;
  std::deque<Fault> token_faults;
  std::deque<Fault> api_faults;
  // The next this-many TLS connections, and every one accepted before `handshake_faults_until`,
  // are answered in plain text before any handshake (a TLS failure for the client).
  // POST /_fake/faults {"target":"handshake","count":N} or {"target":"handshake","for_ms":T}.
  int handshake_faults = 0;
  std::chrono::steady_clock::time_point handshake_faults_until{};
  std::deque<LoggedRequest> request_log;

  BoundedJsonMap<std::string> clusters;
  std::map<std::int64_t, nlohmann::json> jobs;  // fixed at start
  std::map<std::int64_t, std::int64_t> runs_per_job;
  BoundedJsonMap<std::string> statements;
  std::map<std::string, nlohmann::json> warehouses;  // fixed at start
  BoundedJsonMap<std::string> external_results;      // "<statement_id>/<chunk>" -> rows
  BoundedJsonMap<std::int64_t> runs;                 // run_id -> run, as runs/get answers
  // Files API path (as sent) -> contents; few, small files (files_api.hpp).
  BoundedJsonMap<std::string> files = [] {
    BoundedJsonMap<std::string> map;
    map.limit = 100;
    return map;
  }();
  BoundedJsonMap<std::string> run_idempotency;       // idempotency_token -> run_id
  std::int64_t next_run_id = 1000;
  std::int64_t next_cluster_serial = 1;
  IdpState idp;
  FederationState federation;
};

}  // namespace dbproxy::fake
