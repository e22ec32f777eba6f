// The client API of agent.sock: /healthz, /v1/whoami, /v1/token. See docs/api.md "Client API".
// Also the decision step that token requests and proxied calls share.
#pragma once

#include <memory>

#include "agent/agent_state.hpp"
#include "agent/server/http_server.hpp"
#include "common/audit/audit_record.hpp"
#include "common/policy/decide.hpp"
#include "common/policy/rules.hpp"

namespace dbproxy {

// The policies a request decides against (AgentState::Policies), held until it ends.
inline PinnedPolicy PinPolicy(const AgentState& state) { return state.Policies(); }

// Puts the service's attributes ("service.<key>") first among `audit.attributes`, copied from the
// policy the request was decided with.
void RecordServiceAttributes(const Service& service, AuditRecord& audit);

// The kernel-identified caller of `context`. Points into `context`.
DecisionSubject SubjectOf(const RequestContext& context);

// Decide (common/policy/decide.hpp) for the caller against the pinned policy, with the
// agent's grants and maintenance. Records in `audit` the service, the rule and, on deny,
// "deny"; the caller records "allow" and the credential once it has acted. The shadow policy
// (when pinned) is decided the same way and recorded beside; it never affects the answer.
CallDecision DecideRequest(const PinnedPolicy& pinned, const AgentState& state,
                           const RequestContext& context, const RequestFacts& facts,
                           AuditRecord& audit);

// The caller's service in the pinned policy, recorded in `audit` (service; or deny
// "unidentified" when none matches).
Result<const Service*> IdentifyService(const PinnedPolicy& pinned, const RequestContext& context,
                                       AuditRecord& audit);

// A token request after its service, workspace and scope are known: records the action
// ("token:<scope>") and workspace, decides through DecideRequest, and on allow gets the token
// from the broker (cache, or a grant) with at least `min_ttl` seconds left. Errors: the
// decision's refusal or the broker's.
asio::awaitable<Result<std::shared_ptr<const IssuedToken>>> DecideToken(
    AgentState& state, const PinnedPolicy& pinned, const RequestContext& context,
    const std::string& workspace, const std::string& scope, int min_ttl, AuditRecord& audit);

// Handles one request on the agent socket and writes its audit line.
asio::awaitable<HttpResponse> HandleClientRequest(AgentState& state, HttpRequest& request,
                                                  RequestContext& context);

// The end of every client answer: finishes `audit` from `response`, logs a shadow difference,
// commits the record. `releases`: the answer hands out a token, so it is given only once its
// record is written; otherwise `response` becomes 503 audit_unavailable (recorded as such).
asio::awaitable<void> FinishClientAnswer(AgentState& state, AuditRecord& audit,
                                         HttpResponse& response, RequestContext& context,
                                         bool releases);

}  // namespace dbproxy
