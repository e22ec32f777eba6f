// Policy: which local services exist, how the kernel identity of a caller maps to one, and what
// their roles allow. Parsed from the TOML files of policy_dir; evaluation is pure and cheap.
//
// Threading: a Policy is immutable once parsed; share it as std::shared_ptr<const Policy> and
// swap the pointer to reload.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/caller_identity.hpp"
#include "common/core/result.hpp"
#include "common/policy/rules.hpp"

namespace dbproxy {

// A matcher on kernel identity. All given fields must match.
struct ServiceMatch {
  std::optional<std::string> unit;   // systemd unit, e.g. "billing-etl.service"
  std::optional<uid_t> uid;
  std::optional<std::string> user;   // name of the caller's uid
  std::optional<gid_t> gid;          // primary or supplementary group
  std::optional<std::string> group;  // name of the primary group, or a supplementary group's
  std::optional<std::string> exe;    // exact path of /proc/<pid>/exe (needs CAP_SYS_PTRACE for
                                     // other users' processes)

  // How many fields are given; the most specific matching service wins.
  int Specificity() const;
  // REQUIRES: `group_names` holds the names of identity.groups (same order), may be empty.
  bool Matches(const CallerIdentity& identity, const std::vector<std::string>& group_names) const;
  // "unit=billing-etl.service uid=1000": for traces and errors.
  std::string Describe() const;
  bool operator==(const ServiceMatch&) const = default;
};

struct Service {
  std::string name;
  ServiceMatch match;
  std::map<std::string, std::string> attributes;  // env, team, free labels
  std::string workspace;                          // default workspace; may be empty
  std::vector<std::string> roles;
  // The scope GET /metadata/token hands out (decided as action "token:<scope>"); empty: the
  // first token scope of its roles (DefaultTokenScope).
  std::string metadata_scope;
  // Non-empty: the name of an [[idp]] (agent.toml) whose verified JWT every request of this
  // service must carry; Decide refuses one without it (Errc::kUnauthenticated) before any rule.
  std::string require_jwt{};
  // Non-empty: the name of a [[saml_idp]] (agent.toml) whose verified SAML assertion every
  // request of this service must carry; refused like require_jwt (after it).
  std::string require_saml{};
  std::string source;  // "file:line" where it was declared
};

// Limits a role puts on the calls it allows (enforced on proxied calls; a raw token cannot be
// limited, so a service whose roles have limits gets no token that reaches the limited calls).
struct RoleLimits {
  std::optional<std::int64_t> sql_row_limit_max;   // sql.execute needs row_limit <= this
  std::optional<std::int64_t> sql_byte_limit_max;  // sql.execute needs byte_limit <= this
  // Instead of refusing a statement whose row_limit (byte_limit) is absent or above the max,
  // the role allows it and the proxy rewrites the body to the max (Decision::clamps).
  bool sql_row_limit_clamp = false;
  bool sql_byte_limit_clamp = false;
  std::vector<std::string> sql_warehouses;         // sql.execute only on these warehouses
  // Per service, on the proxy, whatever the action (rate_limiter.hpp). A raw token is not
  // paced, so it restricts tokens like the other limits do.
  std::optional<std::int64_t> requests_per_minute;
  // Limits on sql.execute (these restrict only tokens that reach sql.execute).
  bool any_sql() const {
    return sql_row_limit_max || sql_byte_limit_max || !sql_warehouses.empty();
  }
  bool any() const { return any_sql() || requests_per_minute.has_value(); }
};

struct Role {
  std::string name;
  std::string credential;            // name of the enrolled service principal
  std::vector<std::string> actions;  // patterns; '*' matches any run of characters
  RoleLimits limits;
  std::string source;
};

struct Policy {
  std::vector<Service> services;
  std::vector<Role> roles;
  std::vector<Rule> rules;  // in file order (files sorted by name)
  std::string revision;     // 16 hex digits of a hash over every file's name and text

  const Service* FindService(std::string_view name) const;
  const Role* FindRole(std::string_view name) const;
  // Indices into `rules` whose action patterns match `action`, ascending. For a known
  // call-level action the list is precomputed (no allocation); other actions are collected into
  // `scratch`, which the result then refers to.
  std::span<const std::size_t> CandidateRules(std::string_view action,
                                              std::vector<std::size_t>& scratch) const;

  // Built by ParsePolicy (see BuildIndex in policy_parse.cpp).
  std::vector<std::vector<std::size_t>> rules_by_known_action;  // by KnownActions() index
  std::map<std::string, std::vector<std::size_t>, std::less<>> rules_by_token_action;  // literal
  std::vector<std::size_t> token_pattern_rules;  // patterns that may match some token action
  std::size_t pattern_rule_count = 0;            // rules with at least one '*' pattern
};

struct PolicySource {
  std::string name;  // file name used in error messages
  std::string text;
};

// Whether a directory entry named `file_name` is part of a policy directory: "*.toml" not
// starting with '.', so editors' and config management's temp files are never read.
bool IsPolicyFileName(std::string_view file_name);

// Parses and validates a whole policy directory's files together. All errors are reported at
// once ("file:line: message" per line) in an Errc::kInvalidRequest error: syntax, unknown keys,
// unknown actions, duplicate names, undefined roles, identical matchers, empty matchers.
Result<Policy> ParsePolicy(const std::vector<PolicySource>& files);

// The service whose matcher fits `identity`, most specific first. Errc::kUnidentified when none
// matches, or when two equally specific services match (ambiguity is never resolved by order).
Result<const Service*> MatchService(const Policy& policy, const CallerIdentity& identity,
                                    const std::vector<std::string>& group_names);

// Glob match of an action pattern: '*' matches any run of characters, everything else literally.
bool ActionMatches(std::string_view pattern, std::string_view action);

struct Decision {
  bool allow = false;
  // The rule id that decided: a [[rule]] id, "role:<name>" for an allowing role, or
  // "default-deny" when nothing allowed.
  std::string rule;
  std::string reason;          // one sentence for the caller and the audit trail
  const Role* role = nullptr;  // whose credential to use; null on deny
  // Set when the allowing role clamps: what the proxy must rewrite before forwarding, e.g.
  // {"row_limit=1000"}. The proxy forwards ApplyClamps(body, role->limits, facts)
  // (request_body.hpp) instead of the caller's body; the audit record lists these.
  std::vector<std::string> clamps{};
};

// One line of an explanation: what was considered and what came of it.
struct TraceStep {
  std::string subject;  // "rule deny-jobs-run", "role etl", ...
  std::string outcome;  // "applies: deny", "skipped: when service.env = \"production\" is false"
};

// Appends a step to `trace` when the caller asked for one (`trace` not null).
inline void AddTraceStep(std::vector<TraceStep>* trace, std::string subject, std::string outcome) {
  if (trace != nullptr) trace->push_back(TraceStep{std::move(subject), std::move(outcome)});
}

struct EvalInput {
  const Service* service = nullptr;
  const CallerIdentity* identity = nullptr;
  const std::vector<std::string>* group_names = nullptr;
  const RequestFacts* facts = nullptr;
  const std::vector<std::string>* granted_roles = nullptr;  // runtime grants; may be null
  const JwtAttributes* jwt = nullptr;  // the caller's verified JWT (EvalSubject); may be null
  std::string_view jwt_idp{};
  const SamlAttributes* saml = nullptr;  // its verified SAML assertion (EvalSubject); may be null
};

// The decision for `input.facts->action`:
//   1. the first [[rule]] with effect "deny" that applies denies (deny wins);
//   2. else the first role of the service (its own roles, then granted ones) whose actions match
//      and whose limits the request satisfies allows, with that role's credential;
//   3. else the first [[rule]] with effect "allow" that applies allows, with the credential of
//      the service's first role;
//   4. else deny ("default-deny").
// A rule applies when one of its action patterns matches, all `when` conditions hold, and not
// all `unless` conditions hold. Appends to `trace` when non-null. Cheap: no allocation on the
// common path beyond the decision's strings.
Decision Evaluate(const Policy& policy, const EvalInput& input,
                  std::vector<TraceStep>* trace = nullptr);

// Raw tokens bypass call-level rules. Returns the id of a deny rule or role limit that a token
// of `scope` could bypass for this service (empty when none): a deny rule counts when one of its
// actions is reachable with the scope (ScopeReach) and its conditions on service, caller and
// time do not rule it out (conditions on call-level facts are unknown, so they cannot). A role
// of the service (own or granted) counts as "role:<name>" when it has SQL limits (clamping or
// not) and both it and the scope reach sql.execute, or when it has requests_per_minute and the
// scope reaches any call action the role allows.
std::string RawTokenBypass(const Policy& policy, const EvalInput& input, std::string_view scope);

// The scope a token request without "scope" gets: the first literal "token:<scope>" action of
// the service's roles, in order. Errc::kPolicyDenied when the service has none.
Result<std::string> DefaultTokenScope(const Policy& policy, const Service& service);

}  // namespace dbproxy
