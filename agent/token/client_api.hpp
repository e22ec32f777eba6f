// The client API of agent.sock: /healthz, /v1/whoami, /v1/token. See README "Client API".
#pragma once

#include "agent/agent_state.hpp"
#include "agent/server/http_server.hpp"
#include "common/audit/audit_record.hpp"
#include "common/policy/rules.hpp"

namespace dbproxy {

// Evaluates the shadow policy (when loaded) and records its verdict in `audit` beside the real
// one. Never affects the answer.
void ShadowDecide(const AgentState& state, const RequestContext& context, const RequestFacts& facts,
                  AuditRecord& audit);

// Handles one request on the agent socket and writes its audit line.
asio::awaitable<HttpResponse> HandleClientRequest(AgentState& state, HttpRequest& request,
                                                  RequestContext& context);

}  // namespace dbproxy
