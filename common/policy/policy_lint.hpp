// Policy lint: findings about a policy that parses but will not do what its author meant.
//
// ParsePolicy already rejects syntax errors, unknown keys and unknown actions; lint looks at the
// parsed policy as a whole. Pure: no I/O. Threading: LintPolicy only reads `policy`.
#pragma once

#include <string>
#include <vector>

#include "common/policy/policy.hpp"

namespace dbproxy {

struct LintFinding {
  std::string severity{};  // "error" (the policy is wrong) or "warning" (probably a mistake)
  std::string source{};    // "file:line" of the service, role or rule concerned
  std::string code{};      // one of the codes below
  std::string message{};   // one sentence naming what is wrong and with what
};

// Findings, in this order of checks (and file order within each):
//   overlapping-services     warning  two services of equal specificity whose matchers can both
//                                     fit one process (fields given in both are equal, or are
//                                     gid/group, which test membership); such a caller is refused
//                                     as ambiguous at runtime
//   unused-role              warning  a role no service lists (it can still be granted at runtime)
//   pattern-matches-nothing  error    a role or rule action pattern that is not "token:..." and
//                                     matches no known action
//   sensitive-by-pattern     warning  a used role or an allow rule whose '*' pattern reaches a
//                                     sensitive action it does not also list by name
//                                     (tokens.manage, secrets.*, uc.credentials,
//                                     permissions.manage, commands.execute)
//   never-matches            error    a rule whose `when` conditions contradict each other (two
//                                     eq values, eq outside an `in` list, disjoint lists, bounds
//                                     that exclude each other, present = false with a test that
//                                     needs a value, request.action outside the rule's actions),
//                                     or whose service.name names existing services none of
//                                     which has the other service.* values it requires (a jwt.*
//                                     claim may be a list: only present = false conflicts)
//   type-mismatch            error    a `when` or `unless` condition whose values are of the
//                                     other type than its attribute ("request.row_limit" =
//                                     "100"), so it never holds
//   shadowed                 warning  a rule that never decides: an earlier unconditional rule of
//                                     the same effect covers all its actions, an unconditional
//                                     deny rule covers all actions of an allow rule (deny wins
//                                     whatever the order), or an earlier rule is identical
// Only clear cases are reported: a finding is never a guess about runtime facts.
std::vector<LintFinding> LintPolicy(const Policy& policy);

// The providers agent.toml defines, by name: [[idp]] and [[saml_idp]].
struct IdentityProviderNames {
  std::vector<std::string> idps{};
  std::vector<std::string> saml_idps{};
};

// What only the agent's configuration shows (dbproxyd check-config, and the agent's log at each
// policy load):
//   unknown-identity-provider  warning  a service's require_jwt (require_saml) names no [[idp]]
//                                       ([[saml_idp]]) of agent.toml: every request of that
//                                       service is refused
std::vector<LintFinding> LintIdentityRequirements(const Policy& policy,
                                                  const IdentityProviderNames& providers);

}  // namespace dbproxy
