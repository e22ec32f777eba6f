// The admin API of admin.sock (root or admin_group only). See docs/api.md "Admin API".
#pragma once

#include "agent/agent_state.hpp"
#include "agent/server/http_server.hpp"

namespace dbproxy {

// Handles one request on the admin socket and writes its audit line.
asio::awaitable<HttpResponse> HandleAdminRequest(AgentState& state, HttpRequest& request,
                                                 RequestContext& context);

}  // namespace dbproxy
