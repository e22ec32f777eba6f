// The admin routes for runtime grants and the maintenance switch (state in RuntimeState):
//
//   GET    /v1/grants                           {"grants":[grant...]}, expired ones pruned first
//   POST   /v1/grants                           {"service","role","for_seconds"?,"reason"?}
//                                               -> 201 {"grant":grant}
//   DELETE /v1/grants/{service}/{role}          -> 200 {"revoked":grant}
//   GET    /v1/maintenance                      {"maintenance":[entry...]}, expired pruned first
//   POST   /v1/maintenance                      {"scope","target"?,"reason"?,"for_seconds"?}
//                                               -> 201 {"maintenance":entry}
//   DELETE /v1/maintenance?scope=S[&target=T]   -> 200 {"cleared":entry}
//
// grant = GrantToJson (common/grants.hpp), entry = MaintenanceEntryToJson
// (common/maintenance.hpp). Errors: 400 invalid_request (bad JSON, unknown field, bad name,
// for_seconds outside 1..366 days, target given for global or missing otherwise); 404 not_found
// when a grant names a service or role absent from the current policy, a switch names a service
// absent from the policy or a workspace not enrolled, or there is nothing to revoke or clear;
// 405 on a known path with another method; 500 internal when the state file cannot be written
// (nothing changed then).
//
// The operator recorded as granted_by / set_by is the caller's user name from the kernel, or
// "uid:N" when the uid has no name.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/agent_state.hpp"
#include "agent/asio.hpp"
#include "agent/server/http_server.hpp"
#include "common/audit/audit_record.hpp"

namespace dbproxy {

// Handles `request` when `path` (its decoded segments, e.g. {"v1","grants"}) is one of the
// routes above; std::nullopt otherwise, without touching anything. Sets audit.action
// (admin.grant, admin.revoke, admin.grants, admin.maintenance.on, admin.maintenance.off,
// admin.maintenance) and, when the request names them, audit.service / audit.workspace.
// REQUIRES: the caller is an admin (checked by the router); state.runtime and the policy are
// set. Threading: the main event loop (RuntimeState writes its small files synchronously).
asio::awaitable<std::optional<HttpResponse>> HandleRuntimeAdmin(
    AgentState& state, HttpRequest& request, const RequestContext& context,
    const std::vector<std::string>& path, AuditRecord& audit);

}  // namespace dbproxy
