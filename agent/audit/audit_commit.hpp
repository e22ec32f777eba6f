// The one path every request's audit record takes, on both sockets and for proxied calls:
// AdmitAudited before any work (fail-closed), CommitAudit once the outcome is known.
// Threading: event-loop thread.
#pragma once

#include "agent/agent_state.hpp"
#include "agent/asio.hpp"
#include "common/audit/audit_record.hpp"
#include "common/core/result.hpp"

namespace dbproxy {

// Errc::kAuditUnavailable while a required audit sink cannot be written and [audit] fail_closed
// is on; Ok otherwise.
Status AdmitAudited(const AgentState& state);

// Hands the finished record to the audit sinks. Suspends for back-pressure (a full queue) and,
// with fsync = "always", until the line is durable.
asio::awaitable<void> CommitAudit(AgentState& state, const AuditRecord& record);

}  // namespace dbproxy
