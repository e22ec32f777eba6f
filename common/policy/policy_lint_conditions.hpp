// Satisfiability of a rule's conditions, for policy lint (internal to common/).
#pragma once

#include <string>

#include "common/policy/policy.hpp"

namespace dbproxy {

// Why `rule` can never apply, or empty when it may. Reports only certain contradictions:
//   - `when` conditions on one attribute that no single value satisfies (two eq values, eq
//     outside an `in` list, disjoint lists, bounds that exclude each other, ordering tests of
//     different types, present = false with a test that needs a value);
//   - `when` request.action values that none of the rule's action patterns match;
//   - `when` service.name (eq / in) naming existing services none of which satisfies the other
//     service.* `when` conditions, or all of which satisfy service-only `unless` conditions.
// A jwt.* claim may be a list, so for it only present = false beside a test that needs a value
// counts as a contradiction.
// Services the rule names that the policy does not declare are not an error (fleet-wide rules).
std::string NeverMatchesReason(const Policy& policy, const Rule& rule);

// Why `condition` can never hold because its operands are of the other type than its attribute
// ("request.row_limit" = "100": row_limit is an integer, and a string never equals one), or
// empty. Tests that hold without a value (present, ne, not_in) are never reported.
std::string TypeMismatchReason(const Condition& condition);

}  // namespace dbproxy
