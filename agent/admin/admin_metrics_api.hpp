// GET /metrics on the admin socket (Prometheus text format), and the metrics summary that
// `GET /v1/status` (dbproxyctl status) adds to its answer.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/agent_state.hpp"
#include "agent/server/http_server.hpp"
#include "common/audit/audit_record.hpp"

namespace dbproxy {

// GET /metrics -> 200, Content-Type kMetricsContentType. std::nullopt for any other path.
// REQUIRES: the caller is an admin.
std::optional<HttpResponse> HandleMetricsAdmin(const AgentState& state, const HttpRequest& request,
                                               const std::vector<std::string>& path,
                                               AuditRecord& audit);

// The whole exposition: build and process info, requests, token cache, connections, audit
// trail, policy, runtime state.
std::string RenderMetrics(const AgentState& state);

// {"requests":{"total","allowed","denied","errors"},
//  "token_cache":{"hits","misses","refreshes","grants","failures","hit_ratio"},
//  "audit":{"healthy","queue_depth","write_failures","journal_failures"},
//  "connections":{"agent","admin"}}
nlohmann::json StatusMetrics(const AgentState& state);

}  // namespace dbproxy
