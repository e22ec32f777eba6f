// The identity-provider token a caller presents with a request, found and verified
// (docs/api.md "Caller identity tokens").
//
// Where the token is read:
//   - the agent's own endpoints (agent.sock /v1/*, the loopback metadata endpoint):
//     Authorization: Bearer <jwt>;
//   - proxy mode: X-Dbproxy-Identity: <jwt>, else the caller's Authorization: Bearer value when
//     it is a JWT whose (unverified) iss is a configured [[idp]] issuer, so that an unmodified
//     SDK with DATABRICKS_TOKEN=<its IdP JWT> identifies itself. Neither header is forwarded
//     (RequestHeadersToForward drops Authorization and X-Dbproxy-*).
// Without any [[idp]] the agent reads no token: Authorization on its endpoints is ignored as
// before, X-Dbproxy-Identity is refused (the caller expects to be identified and cannot be).
//
// A token never replaces the kernel identity: the caller is matched to its service by the
// kernel as always; the verified token adds jwt.* attributes and the audit's jwt_* members.
// Secrets: the token is a bearer credential. Neither the answer, the log nor the audit record
// carries it; only the verifier's reason (JwtError::reason, which never holds the token).
// Threading: any event loop.
#pragma once

#include <string>

#include "agent/agent_state.hpp"
#include "agent/asio.hpp"
#include "agent/server/http_server.hpp"
#include "common/audit/audit_record.hpp"
#include "common/core/result.hpp"
#include "common/policy/rules.hpp"

namespace dbproxy {

inline constexpr char kIdentityHeader[] = "X-Dbproxy-Identity";

// A verified caller token, held by the request for as long as it runs (RequestContext::jwt
// points here).
struct CallerJwt {
  std::string idp;      // the [[idp]] name
  std::string issuer;   // iss
  std::string subject;  // sub; "" when the token has none
  JwtAttributes attributes;
};

enum class TokenPlace {
  kAgentEndpoint,  // Authorization: Bearer
  kProxy,          // X-Dbproxy-Identity, else a configured issuer's JWT in Authorization
};

// Finds the caller's token in `fields` (per `place`) and verifies it with state.idps. With a
// verified token: fills `caller`, points context.jwt at it and records audit.jwt_idp/iss/sub.
// Ok also when no token was presented. Errors: kInvalidIdentity (401 invalid_identity; the
// record says deny by rule "invalid_identity", the reason is its jwt_error and is logged),
// kIdentityUnavailable (503; the fetch failure is logged), kInvalidRequest for a header given
// twice. REQUIRES: `caller` outlives every use of `context` in the request.
asio::awaitable<Status> IdentifyCallerJwt(AgentState& state, const http::fields& fields,
                                          TokenPlace place, CallerJwt& caller,
                                          RequestContext& context, AuditRecord& audit);

}  // namespace dbproxy
