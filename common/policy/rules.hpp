// Rules: conditions over service attributes, caller facts, request facts and time, and the
// compiled form the evaluator runs. Parsing lives in policy.cpp; this header is the model.
//
// A condition names an attribute and a test:
//   "service.env" = "production"                 equality (strings or integers)
//   "service.team" = ["platform", "sre"]         set membership
//   "request.row_limit" = { le = 1000 }          eq ne lt le gt ge, in / not_in, between = [a, b],
//   "time.utc" = { between = ["08:00", "18:00"] }  present = true|false, glob = "billing-*"
//   "jwt.groups" = "data-eng"                    claims of the caller's verified JWT
//   "saml.groups" = "data-eng"                   attributes of its verified SAML assertion
// An attribute that is absent fails every test except `present = false` and `ne` / `not_in`.
//
// jwt.iss, jwt.sub, jwt.aud and jwt.<claim> are the claims of a JWT the caller presented and the
// agent verified (ClaimAttributes in common/identity/jwt.hpp); without one they are absent. A
// claim is a string or a list of strings, and a string counts as a list of one: eq and in hold
// when any element is (one of) the value(s), glob when any element matches, ne and not_in when
// no element is; ordering tests (lt le gt ge between) never hold and ParsePolicy refuses them.
//
// saml.issuer, saml.name_id and saml.<attribute> are read from a SAML assertion the caller
// presented and the agent verified (SamlPolicyAttributes in common/identity/saml_providers.hpp);
// without one they are absent. Every saml.* attribute is a list of strings (issuer and name_id
// a list of one) and is tested as a jwt.* claim is.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/core/caller_identity.hpp"
#include "common/policy/actions.hpp"

namespace dbproxy {

struct Service;

// Request facts the evaluator sees. Optional ones are present only when the request has them
// (row_limit is only known in proxy mode, for SQL statements that set it).
struct RequestFacts {
  std::string action{};     // "token:all-apis", "jobs.run", ...
  std::string workspace{};  // resolved workspace name
  std::string method{};     // HTTP method of a proxied call; empty for token requests
  std::string path{};       // normalised Databricks path; empty for token requests
  std::optional<std::string> warehouse{};
  std::optional<std::int64_t> row_limit{};
  std::optional<std::int64_t> byte_limit{};
  std::optional<std::int64_t> statement_bytes{};
  std::optional<std::string> job_id{};
  std::optional<std::string> disposition{};       // SQL: INLINE, EXTERNAL_LINKS
  std::optional<std::string> node_type{};         // clusters: node_type_id
  std::optional<std::string> driver_node_type{};  // clusters: driver_node_type_id
  std::optional<std::int64_t> num_workers{};      // clusters: max(num_workers, autoscale max)
  std::optional<std::string> secret_scope{};      // secrets: scope
  std::optional<std::string> secret_key{};        // secrets: key
  std::optional<std::string> target_path{};       // workspace, dbfs, files: the path named
  // The facts come from an inspected statement submission body: a clamping role may allow the
  // call and have the proxy rewrite row_limit/byte_limit (anything else is refused instead).
  bool sql_statement_body = false;
  std::int64_t now_unix = 0;  // for time.* attributes
};

enum class AttributeKind {
  kServiceName, kServiceAttribute,  // service.name, service.<attribute>
  kCallerUid, kCallerGid, kCallerUser, kCallerGroup, kCallerUnit, kCallerExe,
  kRequestAction, kRequestWorkspace, kRequestMethod, kRequestPath, kRequestWarehouse,
  kRequestRowLimit, kRequestByteLimit, kRequestStatementBytes, kRequestJobId,
  kRequestDisposition, kRequestNodeType, kRequestDriverNodeType, kRequestNumWorkers,
  kRequestSecretScope, kRequestSecretKey, kRequestTargetPath,
  kTimeUtc,      // "HH:MM" (UTC)
  kTimeWeekday,  // "mon" .. "sun" (UTC)
  kJwtClaim,     // jwt.iss, jwt.sub, jwt.aud, jwt.<claim>: a claim of the verified JWT
  kSamlAttribute,  // saml.issuer, saml.name_id, saml.<name>: of the verified SAML assertion
};

struct AttributeRef {
  AttributeKind kind = AttributeKind::kServiceName;
  std::string key;   // the <attribute> of service.<attribute>, the <claim> of jwt.<claim>,
                     // the <name> of saml.<name>
  std::string name;  // as written, for traces
  // Facts that only a proxied call carries (method, path, warehouse, limits, job id...).
  bool CallLevel() const;
  // Whether the attribute's values are integers (uid, gid, row_limit...); otherwise strings.
  bool IntegerValued() const;
  // Whether the attribute may hold a list of values (jwt.*, saml.*): see the header comment.
  bool ListValued() const {
    return kind == AttributeKind::kJwtClaim || kind == AttributeKind::kSamlAttribute;
  }
};

// Whether `claim` may follow "jwt.": 1..128 of letters, digits and _ - . : / (so namespaced
// claims such as "https://example.com/groups" fit).
bool IsValidClaimName(std::string_view claim);

// Parses "service.env", "caller.uid", "request.row_limit", "time.utc", "jwt.sub",
// "saml.name_id" (a saml.<name> takes the names IsValidClaimName accepts); nullopt when unknown.
std::optional<AttributeRef> ParseAttributeRef(std::string_view name);

using ConditionValue = std::variant<std::string, std::int64_t>;

enum class ConditionOp { kEq, kNe, kIn, kNotIn, kLt, kLe, kGt, kGe, kBetween, kPresent, kGlob };

// True for the operators that compare by order (<, <=, >, >=, between).
constexpr bool IsOrdering(ConditionOp op) {
  return op == ConditionOp::kLt || op == ConditionOp::kLe || op == ConditionOp::kGt ||
         op == ConditionOp::kGe || op == ConditionOp::kBetween;
}

struct Condition {
  AttributeRef attribute;
  ConditionOp op = ConditionOp::kEq;
  std::vector<ConditionValue> operands;  // kPresent: one integer, 1 = present, 0 = absent
  std::string text;                      // as written, for traces and lint
};

// A claim as a policy attribute; the same type as in common/identity/jwt.hpp (redeclared so
// that this header does not pull in nlohmann/json).
using ClaimValue = std::variant<std::string, std::vector<std::string>>;
// The attributes of a verified JWT, keyed "jwt.iss", "jwt.sub", "jwt.<claim>" (ClaimAttributes).
using JwtAttributes = std::map<std::string, ClaimValue>;
// The attributes of a verified SAML assertion, keyed "saml.issuer", "saml.name_id",
// "saml.<name>" (SamlPolicyAttributes); every value is a list.
using SamlAttributes = std::map<std::string, std::vector<std::string>>;

struct EvalSubject {
  const Service* service = nullptr;
  const CallerIdentity* identity = nullptr;
  const std::vector<std::string>* group_names = nullptr;
  const RequestFacts* facts = nullptr;
  // The caller's verified JWT, or null when it presented none (jwt.* are then absent), and
  // the name of the [[idp]] that verified it.
  const JwtAttributes* jwt = nullptr;
  std::string_view jwt_idp{};
  // The caller's verified SAML assertion, or null when it presented none (saml.* are absent).
  const SamlAttributes* saml = nullptr;
};

// An attribute's value as looked up: views into the subject, never copies (the hot path). A
// list (jwt.* and saml.* only) is a span over the strings; a string claim is a span of one.
using AttributeValue = std::variant<std::string_view, std::int64_t, std::span<const std::string>>;

// The attribute's value for `subject`; nullopt when absent. A string view points into the
// subject, or (time.*) into a thread-local buffer valid until the next lookup on this thread.
std::optional<AttributeValue> LookupAttribute(const AttributeRef& ref, const EvalSubject& subject);

// Whether `condition` holds. Three-valued when `facts_known` is false: a condition on a
// call-level attribute is then unknown (nullopt) — used to decide whether a raw token would
// bypass a rule.
std::optional<bool> EvaluateCondition(const Condition& condition, const EvalSubject& subject,
                                      bool call_facts_known = true);

enum class RuleEffect { kAllow, kDeny };

struct Rule {
  std::string id;
  RuleEffect effect = RuleEffect::kDeny;
  std::vector<std::string> actions;  // patterns
  std::vector<Condition> when;       // all must hold for the rule to apply
  std::vector<Condition> unless;     // if all hold, the rule does not apply (empty: never)
  std::string description;
  std::string source;  // file:line
  // Bit i set when an action pattern matches KnownActions()[i]; filled by ParsePolicy.
  KnownActionSet known_actions{};
};

}  // namespace dbproxy
