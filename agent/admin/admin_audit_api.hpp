// The admin route for reading the audit trail (what `dbproxyctl audit tail` shows):
//
//   GET /v1/audit[?n=N][&service=S][&decision=D][&action=A][&after_seq=Q[&wait=W]]
//     -> 200 {"records":[record...],"last_seq":L,"file":PATH}
//
// records are the last N (default 100, at most 10000) lines of the current audit file that
// match every filter given, oldest first, as the JSON objects of the file (with seq and prev);
// genesis lines are left out. With after_seq only lines with a larger seq are returned, and
// when there are none the call waits up to W seconds (0-25, default 0) for new ones: a
// long-poll for `audit tail --follow`, which passes the answer's last_seq back. Follow calls
// leave their own admin.audit records out, so a follower never wakes for itself.
// Only the last 8 MiB of the file are read. Errors: 400 invalid_request (bad number, unknown
// parameter), 404 not_found (no audit file configured), 405, 503 audit_unavailable when the
// file cannot be read.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/agent_state.hpp"
#include "agent/asio.hpp"
#include "agent/server/http_server.hpp"
#include "common/audit/audit_record.hpp"

namespace dbproxy {

// nullopt when `path` is not /v1/audit.
asio::awaitable<std::optional<HttpResponse>> HandleAuditAdmin(AgentState& state,
                                                              const HttpRequest& request,
                                                              const RequestContext& context,
                                                              const std::vector<std::string>& path,
                                                              AuditRecord& audit);

}  // namespace dbproxy
