// What every grant of the token endpoint ends with: the scopes a principal may be granted, and
// the access token itself, remembered so that the REST APIs accept it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tests/fake_workspace/http_types.hpp"
#include "tests/fake_workspace/state.hpp"

namespace dbproxy::fake {

// The scopes of a token request's `scope` parameter (all-apis when absent), each a Databricks
// scope that `allowed` permits (nullopt: any scope). nullopt with `error` set to the
// invalid_scope description when one is not.
std::optional<std::vector<std::string>> GrantableScopes(
    const std::optional<std::string>& scope_parameter,
    const std::optional<std::vector<std::string>>& allowed, std::string& error);

// The scopes as a space-separated scope string.
std::string JoinScopes(const std::vector<std::string>& scopes);

// Mints a token for `principal` (a client_id, or a federated user's name) that the REST APIs
// accept until state.token_lifetime passes, counts the grant in state.counters.token_grants, and
// returns the 200 token response (access_token, token_type, expires_in, scope; no-store).
FakeReply IssueToken(const std::string& principal, std::vector<std::string> scopes,
                     WorkspaceState& state);

}  // namespace dbproxy::fake
