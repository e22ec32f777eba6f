// The loopback listener's own endpoints, for unmodified Databricks clients (docs/clients.md):
//   GET /metadata/token  the SDKs' "metadata-service" credential protocol (DATABRICKS.md)
//   GET /healthz         liveness
// Everything else on the listener is proxy mode (agent/proxy/proxy.hpp) or 404; nothing of the
// admin API is ever served there.
//
// /metadata/token, step by step: the version header must be "1" (else 400); X-Databricks-Host
// names the workspace by its origin (normalised like an enrolled host; unknown: 403
// unknown_workspace, never 404, which the JS SDK reads as "not configured"); the kernel-
// identified caller is matched to its service; the scope is the service's metadata_scope, else
// the first token scope of its roles; the policy decides "token:<scope>" for that workspace
// exactly as for POST /v1/token; the token has at least max(min_ttl_seconds, 60) s left (the
// SDKs refresh well before expiry, JS below 40 s). The answer: {"access_token", "token_type":
// "Bearer", "expires_on": <integer Unix seconds>} with Cache-Control: no-store, released only
// once its audit record is written.
// Threading: event-loop thread.
#pragma once

#include "agent/agent_state.hpp"
#include "agent/server/http_server.hpp"

namespace dbproxy {

inline constexpr char kMetadataPath[] = "/metadata/token";

// Handles one whole request on the loopback listener and writes its audit line.
asio::awaitable<HttpResponse> HandleLoopbackRequest(AgentState& state, HttpRequest& request,
                                                    RequestContext& context);

}  // namespace dbproxy
