// Proxy mode, once the policy has allowed a call: the token, the call to the workspace, and
// the streaming of both bodies between the caller and the workspace.
//
// Answers: the workspace's status, headers (ResponseHeadersToReturn, minus its X-Request-Id,
// which becomes x-databricks-request-id: X-Request-Id is always the agent's own id) and body,
// framed with Content-Length when the workspace gave one, else chunked. An auth-layer 401/403
// (numeric error_code, DATABRICKS.md) renews the token; the call is retried once with the new
// token when it is idempotent and its body is complete. Transport failures before the answer
// started become 503 upstream_unavailable / 502 upstream_error / 504 upstream_timeout; after it
// started, the connection is closed so the caller sees a truncated answer.
//
// Timeouts: once the request (with its body) is handed over, the workspace has [upstream]
// timeout_ms to send its status line and headers, plus a SQL statement's wait_timeout (up to
// 50 s: Databricks holds that answer back on purpose); otherwise 504 upstream_timeout and the
// upstream connection is closed. [proxy] request_timeout_ms bounds the whole call, bodies
// included: passed before the head, 504 upstream_timeout; passed while the body streams, the
// caller's connection is closed mid-body (a Content-Length or chunked framing left incomplete,
// so the truncation is visible) and the audit line says upstream_error.
//
// Threading: event-loop thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/agent_state.hpp"
#include "agent/asio.hpp"
#include "agent/server/http_server.hpp"
#include "common/audit/audit_record.hpp"
#include "common/calls/proxy_headers.hpp"

namespace dbproxy {

struct ProxyForward {
  std::string method{};
  std::string target{};  // upstream path and query (ProxyRoute::UpstreamTarget)
  TokenKey token_key{};
  std::vector<HeaderField> headers{};  // RequestHeadersToForward
  // The complete body to send (inspected, clamped, or empty); nullopt: stream the caller's.
  std::optional<std::string> body{};
  bool keep_alive = false;  // the caller asked for keep-alive
};

// Calls the workspace and writes its answer (or an error answer) to the caller. Fills the
// upstream fields of `audit` and its status. Returns whether the connection may be reused.
// `upstream` is the client of the event loop the request runs on.
asio::awaitable<bool> ForwardToWorkspace(AgentState& state, UpstreamClient& upstream,
                                         StreamedRequest& exchange, const ProxyForward& call,
                                         AuditRecord& audit);

// Sends the interim "100 Continue" when the caller sent Expect: 100-continue, right before its
// body is read. REQUIRES: exchange.parser still holds the request header.
asio::awaitable<void> ContinueIfExpected(StreamedRequest& exchange);

// Answers `error` (ErrorResponse), completing `audit`; returns whether the connection may be
// reused (only when `keep_alive`).
asio::awaitable<bool> AnswerError(StreamedRequest& exchange, const Error& error, AuditRecord& audit,
                                  bool keep_alive);

}  // namespace dbproxy
