// Proxy mode on agent.sock: Databricks REST calls made through the agent (docs/api.md "Proxy mode").
//
//   /api/...            workspace from X-Dbproxy-Workspace, else the service's default
//   /w/<ws>/api/...     workspace <ws>
//
// For each call: the re-attested caller is matched to a service, the target is routed and
// classified (common/proxy_route), maintenance, grants and the policy decide (reading the JSON
// body of calls whose facts the policy needs, up to [proxy] inspect_body_limit), the service's
// requests_per_minute is enforced, clamps rewrite the body, and then the call is forwarded with
// the token of the allowing role (proxy_forward.hpp). Every call gets one audit record.
//
// Threading: event-loop thread.
#pragma once

#include "agent/agent_state.hpp"
#include "agent/asio.hpp"
#include "agent/server/http_server.hpp"

namespace dbproxy {

// Whether `target` is for the proxy (IsProxyTarget): the server hands it over before reading
// the body.
bool WantsProxy(std::string_view target);

// Handles one proxied request and writes its whole answer, calling the workspace through
// `upstream` (the client of the event loop the request runs on). Returns whether the
// connection may serve another request.
asio::awaitable<bool> HandleProxyRequest(AgentState& state, UpstreamClient& upstream,
                                         StreamedRequest& exchange);

}  // namespace dbproxy
