// The action vocabulary of policies, and which actions a Databricks OAuth scope reaches.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/result.hpp"

namespace dbproxy {

// Every call-level action the classifier can produce ("jobs.run", "sql.execute", ...).
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
// "all-apis" and unknown scope names reach everything ("*"); "sql" reaches sql.* and
// warehouses.*; "<api>:read" only the read action of that API; identity scopes (openid, email,
// profile, offline_access) nothing.
std::vector<std::string> ScopeReach(std::string_view scope);

}  // namespace dbproxy
