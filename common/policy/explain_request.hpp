// The body of POST /v1/explain (admin API, `dbproxyctl explain`): who asks and the request
// facts to decide on, the same facts a proxied call or a token request carries, so that explain
// is what a request with those facts gets (Decide in decide.hpp).
//
//   {"uid"?,"gid"?,"user"?,"unit"?,"exe"?,"service"?,"workspace"?,
//    "action"? | ("method","path"),
//    "warehouse"?,"row_limit"?,"byte_limit"?,"statement_bytes"?,"disposition"?,"job_id"?,
//    "node_type"?,"driver_node_type"?,"num_workers"?,"time"? (unix s),
//    "jwt"? {"idp": "corp", "claims": {"sub": "alice", "groups": ["a", "b"]}},
//    "saml"? {"idp": "corp-saml", "attributes": {"name_id": "alice", "groups": ["a", "b"]}}}
//
// Integers: uid, gid, row_limit, byte_limit, statement_bytes, num_workers (>= 0), time;
// job_id is an integer or a decimal string. Everything else is a string. Unknown keys are
// errors. row_limit/byte_limit 0 mean "not set", as in a statement body.
//
// "jwt" describes a verified identity token the caller presents: the [[idp]] name (required,
// non-empty) and its claims (required object; names as IsValidClaimName, at most
// kMaxExplainClaims). A claim is a string or an array of strings; numbers and booleans become
// their JSON text ("42", "true"), as ClaimAttributes does. The claims are taken as they are
// (explain checks no signature): "iss", "sub" and "aud" too are given here when wanted.
//
// "saml" describes a verified SAML assertion the caller presents: the [[saml_idp]] name
// (required, non-empty) and its attributes (required object), which rules read as saml.<name>
// ("issuer" and "name_id" included, given here when a rule reads them). Names as
// IsValidClaimName, at most kMaxExplainClaims; a value is a string or an array of at most
// kMaxExplainClaimValues strings (every saml.* value is a list; a string is a list of one).
//
// Pure; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/core/result.hpp"
#include "common/policy/rules.hpp"

namespace dbproxy {

inline constexpr std::size_t kMaxExplainClaims = 64;
inline constexpr std::size_t kMaxExplainClaimValues = 256;  // elements of one list claim

struct ExplainRequest {
  // The described caller; names not given are left to the agent to look up from the ids.
  std::optional<std::int64_t> uid{};
  std::optional<std::int64_t> gid{};
  std::optional<std::string> user{};
  std::string unit{};
  std::string exe{};
  std::string service{};  // non-empty: decide for this service, no matching
  // Action (or method + path classified), workspace (empty: the service's default), time and
  // the call facts, as the proxy would build them from the call's body.
  RequestFacts facts{};
  // The described caller's verified JWT ("jwt.<claim>" keys, as DecisionSubject::jwt) and its
  // idp; nullopt when the body has no "jwt".
  std::optional<JwtAttributes> jwt{};
  std::string jwt_idp{};
  // The described caller's verified SAML assertion ("saml.<name>" keys, as
  // DecisionSubject::saml) and its saml_idp; nullopt when the body has no "saml".
  std::optional<SamlAttributes> saml{};
  std::string saml_idp{};
};

// Parses and checks an explain body; `now` stands for an absent "time".
// Errors: kInvalidRequest for an unknown field, a wrong type, a negative count, neither an
// action nor a method and a path, an action/path that does not classify, or a malformed "jwt"
// or "saml".
Result<ExplainRequest> ParseExplainRequest(const nlohmann::json& body, std::int64_t now);

}  // namespace dbproxy
