// The client API of agent.sock: /healthz, /v1/whoami, /v1/token. See README "Client API".
#pragma once

#include "agent/agent_state.hpp"
#include "agent/http_server.hpp"

namespace dbproxy {

// Handles one request on the agent socket and writes its audit line.
asio::awaitable<HttpResponse> HandleClientRequest(AgentState& state, HttpRequest& request,
                                                  RequestContext& context);

}  // namespace dbproxy
