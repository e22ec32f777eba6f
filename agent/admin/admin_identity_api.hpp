// The identity endpoints of the admin socket (dbproxyctl idp ...):
//   GET  /v1/idps         -> {"idps": [{name, issuer, jwks_uri, discovery, keys, last_fetch,
//                             last_error}]}
//   POST /v1/idps/verify  {"token": "<jwt>"} -> 200 {"verified": true, idp, iss, sub, aud,
//                             expires_at, claims, attributes} or {"verified": false, idp,
//                             reason, unavailable}: checked against the cached keys only.
// The token is a bearer credential: the body is wiped once read, and neither the answer nor the
// audit record carries it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/agent_state.hpp"
#include "agent/server/http_server.hpp"
#include "common/audit/audit_record.hpp"

namespace dbproxy {

// std::nullopt for any other path. REQUIRES: the caller is an admin.
std::optional<HttpResponse> HandleIdentityAdmin(const AgentState& state, HttpRequest& request,
                                                const RequestContext& context,
                                                const std::vector<std::string>& path,
                                                AuditRecord& audit);

}  // namespace dbproxy
