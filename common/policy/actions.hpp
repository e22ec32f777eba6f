// The action vocabulary of policies, and which actions a Databricks OAuth scope reaches.
#pragma once

#include <bitset>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/result.hpp"

namespace dbproxy {

// Room for the action vocabulary; a set of known actions is indexed like KnownActions().
inline constexpr std::size_t kMaxKnownActions = 128;
using KnownActionSet = std::bitset<kMaxKnownActions>;

// Every call-level action the classifier can produce ("jobs.run", "sql.execute", ...), in a
// fixed order (indexes are stable for one build, not across versions). At most
// kMaxKnownActions.
std::span<const std::string_view> KnownActions();

// Index of `action` in KnownActions(), or -1.
int KnownActionIndex(std::string_view action);

// True for "token:<scope>" (scope non-empty, may contain '*'), "*", and any pattern that matches
// at least one known action ("jobs.*", "sql.execute").
bool IsKnownActionPattern(std::string_view pattern);

// Whether a pattern with '*' could match some "token:<scope>" action (which KnownActions does not
// list): its literal prefix, up to the first '*', is compatible with "token:".
bool MayMatchTokenAction(std::string_view pattern);

// The stored form of an action pattern: token scopes in canonical order ("token:sql all-apis" ->
// "token:all-apis sql"); everything else unchanged. kInvalidRequest for unknown actions.
Result<std::string> NormalizeActionPattern(std::string_view pattern);

// Action patterns a raw token of `scope` (canonical, space-separated) could perform at Databricks.
// Each item is "<api>" or "<api>:<modifier>[:<modifier>]", modifiers being exactly "read" (GET
// and HEAD calls of that API) and, for "sql" only, "restricted-query" (read-only queries).
// "all-apis", unknown scope names and unknown or repeated modifiers reach everything ("*");
// identity scopes (openid, email, profile, offline_access) nothing. A scope whose reach the
// Databricks documentation leaves open is taken to reach everything its API family can do;
// "sql" also reaches what SQL statements can do (GRANT and DDL, secret(), ai_query, volumes).
std::vector<std::string> ScopeReach(std::string_view scope);

}  // namespace dbproxy
