// POST /v1/rekey on the admin socket: rotates the credential store's master key (see
// agent/master_key.hpp for the crash-safe steps). The key never leaves dbproxyd.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/agent_state.hpp"
#include "agent/server/http_server.hpp"
#include "common/audit/audit_record.hpp"

namespace dbproxy {

// POST /v1/rekey -> 200 {"rotated":true,"key_file","credentials"};
// 400 invalid_request when the key is a systemd credential (the message says what to do);
// 500 internal when a step failed (the message names it). std::nullopt for any other path.
// REQUIRES: the caller is an admin.
asio::awaitable<std::optional<HttpResponse>> HandleRekeyAdmin(AgentState& state,
                                                              const HttpRequest& request,
                                                              const RequestContext& context,
                                                              const std::vector<std::string>& path,
                                                              AuditRecord& audit);

}  // namespace dbproxy
