// AgentState: what the request handlers of both sockets share. Owned by Agent.
// Threading: event-loop thread only (the store has its own lock for the blocking pool).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "agent/asio.hpp"
#include "agent/audit/audit_trail.hpp"
#include "agent/state/credential_store.hpp"
#include "agent/state/master_key.hpp"
#include "agent/metrics.hpp"
#include "agent/state/runtime_state.hpp"
#include "agent/token/token_broker.hpp"
#include "agent/proxy/upstream_client.hpp"
#include "common/core/config.hpp"
#include "common/policy/policy.hpp"
#include "common/runtime/rate_limiter.hpp"

namespace dbproxy {

struct AgentState {
  AgentConfig config;
  asio::thread_pool* pool = nullptr;
  std::unique_ptr<CredentialStore> store;
  std::unique_ptr<TokenBroker> broker;
  std::unique_ptr<UpstreamClient> upstream;     // proxy mode: calls to the workspaces
  std::unique_ptr<RateLimiter> rate_limiter;    // proxy mode: requests_per_minute per service
  std::shared_ptr<const Policy> policy;         // swapped whole on reload
  std::shared_ptr<const Policy> shadow_policy;  // evaluated and logged, never enforced; may be null
  std::int64_t policy_loaded_at = 0;
  std::string policy_error;  // why the last reload failed; empty when it succeeded
  std::uint64_t policy_reloads = 0;
  std::uint64_t policy_reload_failures = 0;
  std::unique_ptr<RuntimeState> runtime;  // grants and maintenance
  // Re-reads the policy (admin API "reload"); set by Agent.
  std::function<Status(std::string_view trigger)> reload_policy;
  std::unique_ptr<AuditTrail> audit;  // null when [audit] has no sink
  gid_t admin_gid = static_cast<gid_t>(-1);  // -1: root only
  std::int64_t started_at = 0;
  MasterKeySource key_source;  // where the store's master key came from (rekey)
  Metrics metrics;             // request counters, fed by CommitAudit
  // Open connections of a socket ("agent" or "admin"); set by Agent.
  std::function<std::size_t(std::string_view socket)> active_connections;
};

}  // namespace dbproxy
