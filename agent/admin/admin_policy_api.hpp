// Admin routes about policy: reload, explain (a dry-run decision with its trace) and status.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/agent_state.hpp"
#include "agent/server/http_server.hpp"
#include "common/audit/audit_record.hpp"

namespace dbproxy {

// Routes:
//   POST /v1/reload  -> 200 {"revision","loaded_at","services","roles","rules"} or
//                       400 invalid_request with every error (the previous policy stays)
//   GET  /v1/policy  -> {"revision","loaded_at","services","roles","rules","shadow_revision",
//                        "last_error","reloads","reload_failures"}
//   POST /v1/explain  the body of common/policy/explain_request.hpp (caller or "service",
//                     action or method + path, workspace, time and every request fact a
//                     proxied call carries) -> {"policy_revision","service","matched_by",
//                     "attributes","granted_roles","action","workspace","decision":{"effect",
//                     "rule","reason"},"role"?,"credential"?,"clamps"?,"retry_after_seconds"?,
//                     "trace"}: Decide (common/policy/decide.hpp), what a request with the same
//                     facts gets; never performs anything. 404 for an unknown named service.
// std::nullopt when `path` is none of these. REQUIRES: the caller is an admin.
std::optional<HttpResponse> HandlePolicyAdmin(AgentState& state, HttpRequest& request,
                                              const RequestContext& context,
                                              const std::vector<std::string>& path,
                                              AuditRecord& audit);

}  // namespace dbproxy
