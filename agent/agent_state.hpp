// AgentState: what the request handlers of every socket share. Owned by Agent.
// Threading: requests run on every event loop (Agent runs one per CPU), so what they read is
// safe from any thread: the policy is an atomic snapshot, the runtime sets are pinned
// (RuntimeState::Pin), the broker, metrics, rate limiter, audit trail and store lock inside.
// Fields marked "main loop" are written and read on the main event loop only (admin socket,
// reloads, signals).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/asio.hpp"
#include "agent/audit/audit_trail.hpp"
#include "agent/identity/idp_registry.hpp"
#include "agent/metrics.hpp"
#include "agent/proxy/upstream_client.hpp"
#include "agent/state/credential_store.hpp"
#include "agent/state/master_key.hpp"
#include "agent/state/runtime_state.hpp"
#include "agent/token/token_broker.hpp"
#include "common/core/config.hpp"
#include "common/identity/saml_providers.hpp"
#include "common/identity/saml_replay.hpp"
#include "common/policy/policy.hpp"
#include "common/runtime/call_limiter.hpp"
#include "common/runtime/rate_limiter.hpp"

namespace dbproxy {

// The policies a request decides against, taken when it starts and held until it ends: a
// reload replaces AgentState::policy but never frees a policy a request still holds, so
// pointers into it (CallDecision::service) stay valid across the request's co_awaits.
struct PinnedPolicy {
  std::shared_ptr<const Policy> enforced;
  std::shared_ptr<const Policy> shadow;  // null when no shadow policy is loaded
};

// Connections a socket closed before reading a request (HttpServer::refused_connections).
struct RefusedConnectionCounts {
  std::uint64_t over_total = 0;
  std::uint64_t over_per_uid = 0;
  std::uint64_t over_per_service = 0;  // loopback only
};

struct AgentState {
  AgentConfig config;
  asio::thread_pool* pool = nullptr;
  std::unique_ptr<CredentialStore> store;
  std::unique_ptr<TokenBroker> broker;
  std::unique_ptr<UpstreamClient> upstream;  // the main loop's calls to workspaces (proxy mode)
  std::unique_ptr<RateLimiter> rate_limiter;    // proxy mode: requests_per_minute per service
  // Proxy mode: calls in flight per workspace and in total ([proxy] max_concurrent_*); null in
  // tests that make no proxied calls.
  std::unique_ptr<CallLimiter> call_limiter;
  std::unique_ptr<IdpRegistry> idps;  // [[idp]]: the caller tokens' verifier; null in tests
  // [[saml_idp]] with their certificates (LoadSamlProviders); set at start-up, then read-only.
  std::vector<SamlProvider> saml_idps;
  // The OneTimeUse assertions presented and still valid (IdentifyCallerSaml refuses a replay).
  // Any thread (its own lock; mutable: admitting one is how a const state is read).
  mutable SamlReplayCache saml_replays;
  // The enforced policy and the shadow one (evaluated and logged, never enforced), replaced
  // together on reload (SetPolicies, main loop). Any thread: Policies(). Null members only
  // before the first load (Agent::Create fails without a policy).
  PinnedPolicy Policies() const {
    const std::lock_guard lock(policy_mutex);
    return policies;
  }
  std::shared_ptr<const Policy> EnforcedPolicy() const { return Policies().enforced; }
  void SetPolicies(PinnedPolicy next) {
    const std::lock_guard lock(policy_mutex);
    policies = std::move(next);  // the old ones live on in the requests that pinned them
  }
  // Held only to copy or replace the two pointers. (libstdc++ 12's atomic<shared_ptr> guards
  // its pointer with a lock bit that ThreadSanitizer does not see as a lock.)
  mutable std::mutex policy_mutex;
  PinnedPolicy policies;
  // Main loop.
  std::int64_t policy_loaded_at = 0;
  std::string policy_error;  // why the last reload failed; empty when it succeeded
  std::uint64_t policy_reloads = 0;
  std::uint64_t policy_reload_failures = 0;
  std::unique_ptr<RuntimeState> runtime;  // grants and maintenance
  // Re-reads the policy (admin API "reload"); set by Agent. Main loop.
  std::function<Status(std::string_view trigger)> reload_policy;
  std::unique_ptr<AuditTrail> audit;  // null when [audit] has no sink
  gid_t admin_gid = static_cast<gid_t>(-1);  // -1: root only
  std::int64_t started_at = 0;
  int event_loops = 1;  // the main loop and the workers; set by Agent
  MasterKeySource key_source;  // where the store's master key came from (rekey)
  Metrics metrics;             // request counters, fed by CommitAudit
  // Open connections of a socket ("agent", "admin" or "loopback"), over every event loop; set
  // by Agent. Any thread.
  std::function<std::size_t(std::string_view socket)> active_connections;
  // Connections refused unread, by socket ("agent", "admin", "loopback": all listeners).
  std::function<RefusedConnectionCounts(std::string_view socket)> refused_connections;
  // Open agent.sock and loopback connections served by each event loop (the main loop first);
  // set by Agent. Any thread.
  std::function<std::vector<std::size_t>()> loop_connections;
};

}  // namespace dbproxy
