// The workload identity federation endpoints of the admin socket (dbproxyctl federation ...):
//   GET  /v1/federation/jwks    -> {"keys": [JWK...]}: the public keys a Databricks federation
//                                  policy must list (its jwks_json). Creates the first signing
//                                  key when there is none yet, so the policy can be written
//                                  before any credential is enrolled.
//   GET  /v1/federation         -> {issuer, algorithm, assertion_lifetime_seconds,
//                                   keys: [{kid, alg, created_at, retired_at, in_use}]}
//   POST /v1/federation/rotate  -> {kid, previous}: a new key signs from now on; the previous
//                                  one stays published until assertions it signed have expired.
// No private key ever leaves the store through these endpoints.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/agent_state.hpp"
#include "agent/asio.hpp"
#include "agent/server/http_server.hpp"
#include "common/audit/audit_record.hpp"

namespace dbproxy {

// How long a retired signing key stays published: an assertion's lifetime plus clock skew.
std::int64_t SigningKeyRetention(const FederationSection& federation);

// std::nullopt for any other path. REQUIRES: the caller is an admin.
asio::awaitable<std::optional<HttpResponse>> HandleFederationAdmin(
    AgentState& state, const HttpRequest& request, const RequestContext& context,
    const std::vector<std::string>& path, AuditRecord& audit);

}  // namespace dbproxy
