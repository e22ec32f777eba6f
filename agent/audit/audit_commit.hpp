// The one path every request's audit record takes, on both sockets and for proxied calls:
// AdmitAudited before any work (fail-closed), CommitAudit once the outcome is known.
// Threading: event-loop thread.
#pragma once

#include "agent/agent_state.hpp"
#include "agent/asio.hpp"
#include "agent/server/http_server.hpp"
#include "common/audit/audit_record.hpp"
#include "common/core/result.hpp"

namespace dbproxy {

// The 503 audit_unavailable error (Retry-After: 1).
Error AuditUnavailable();

// Errc::kAuditUnavailable while a required audit sink cannot be written and [audit] fail_closed
// is on; Ok otherwise.
Status AdmitAudited(const AgentState& state);

// Hands the finished record to the audit sinks. Suspends for back-pressure (a full queue) and,
// with fsync = "always", until the line is durable. With AuditTrail::Wait::kRelease (the answer
// hands out a token), suspends until the record is written per the fsync mode and returns false
// when it could not be (fail_closed): the caller must then not give its answer, but answer
// AuditUnavailable() and commit that instead. Returns true otherwise.
asio::awaitable<bool> CommitAudit(AgentState& state, const AuditRecord& record,
                                  AuditTrail::Wait wait = AuditTrail::Wait::kQueued);

// Before a call is forwarded to the workspace (a release whose record can only be written once
// its answer is known): waits until the records queued so far are written per the fsync mode in
// an attempt that checks the sink. AuditUnavailable() when the trail is down (fail_closed).
asio::awaitable<Status> AwaitAuditWritable(AgentState& state);

// The HttpErrorResponder of `socket` ("agent" or "admin"): answers a request the server refused
// before its handler ran and commits its one record (action "refused"; caller from the
// attestation, method and path once the head was parsed, status, error code, latency). The
// answer is `error`'s, or 503 audit_unavailable while the trail cannot be written (fail-closed).
// A caller that failed re-attestation is recorded as "deny", the rest as "error".
// REQUIRES: `state` outlives the returned awaitable (it is the agent's).
asio::awaitable<HttpResponse> AnswerRefused(AgentState& state, const char* socket,
                                            const Error& error, const RefusedRequest& request,
                                            RequestContext& context);

}  // namespace dbproxy
