// The SAML 2.0 assertion a caller presents with a request, found and verified (docs/api.md
// "Caller identity tokens").
//
// The assertion is read from X-Dbproxy-SAML-Assertion (base64 of the XML) wherever a caller
// JWT is read: the agent's own endpoints (agent.sock /v1/*, the loopback metadata endpoint)
// and proxy mode, where the header is never forwarded (RequestHeadersToForward drops
// X-Dbproxy-*). It is verified against the [[saml_idp]] providers (VerifyWithSamlProviders).
// Without any [[saml_idp]] a request carrying the header is refused: the caller expects to be
// identified and cannot be. A caller may present a JWT and an assertion together; both are
// verified and both recorded.
//
// An assertion never replaces the kernel identity: the caller is matched to its service by the
// kernel as always; the verified assertion adds saml.* attributes and the audit's saml_* fields.
// An assertion with the OneTimeUse condition is taken once: presented again while it still
// verifies (same issuer and ID), it is refused as a replay (AgentState::saml_replays).
// Secrets: the assertion is a bearer credential. Neither the answer, the log nor the audit
// record carries it; only the verifier's reason (SamlError::reason, which never holds it).
// Threading: any event loop; verification is CPU work bounded by kMaxSamlAssertionBytes.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "agent/agent_state.hpp"
#include "agent/asio.hpp"
#include "agent/server/http_server.hpp"
#include "common/audit/audit_record.hpp"
#include "common/core/result.hpp"
#include "common/policy/rules.hpp"

namespace dbproxy {

inline constexpr char kSamlAssertionHeader[] = "X-Dbproxy-SAML-Assertion";

// A verified assertion, held by the request for as long as it runs (RequestContext::saml
// points here).
struct CallerSaml {
  std::string idp;      // the [[saml_idp]] name
  std::string issuer;   // Issuer (the idp's entity_id)
  std::string name_id;  // Subject/NameID
  SamlAttributes attributes;  // SamlPolicyAttributes: saml.issuer, saml.name_id, saml.<name>
};

// Finds the caller's assertion in `fields` and verifies it with state.saml_idps. With a
// verified one: fills `caller`, points context.saml at it and records audit.saml_idp/issuer/
// name_id. Ok also when no assertion was presented. Errors: kInvalidIdentity (401
// invalid_identity; the record says deny by rule "invalid_identity", the reason is its
// saml_error and is logged; also a OneTimeUse assertion presented again), kIdentityUnavailable
// (503) when the replay cache is full of valid OneTimeUse assertions, kInternal when xmlsec
// fails, kInvalidRequest for the header given twice.
// REQUIRES: `caller` outlives every use of `context` in the request.
Status IdentifyCallerSaml(const AgentState& state, const http::fields& fields, CallerSaml& caller,
                          RequestContext& context, AuditRecord& audit);

// {"idp", "issuer", "name_id", "attributes": {"saml.<name>": [...]}} for /v1/whoami.
nlohmann::json CallerSamlJson(const CallerSaml& caller);

}  // namespace dbproxy
