// The token-exchange grant (RFC 8693) as Databricks OAuth token federation serves it at the token
// endpoint: a JWT from a trusted issuer, checked against a federation policy
// (oauth/federation_control.hpp), is exchanged for a workspace access token.
//
//   grant_type=urn:ietf:params:oauth:grant-type:token-exchange
//   subject_token=<JWT>  subject_token_type=urn:ietf:params:oauth:token-type:jwt
//   scope=<scopes> (default all-apis)  client_id=<sp> (workload federation; absent: account-wide)
//
// No client authentication: sending a client secret or an Authorization header is 400
// invalid_request. Errors: invalid_request (missing or malformed parameters, a subject token that
// is not a JWT), 401 invalid_client (unknown client_id), invalid_grant (no policy for the client
// and issuer, or the JWT fails the policy: algorithm, key, signature, exp/nbf/iat, aud, subject),
// invalid_scope. A granted token belongs to the client_id, or for account-wide federation to the
// subject; a registered client's scope limits apply to it.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "tests/fake_workspace/http_types.hpp"
#include "tests/fake_workspace/state.hpp"

namespace dbproxy::fake {

inline constexpr std::string_view kTokenExchangeGrant =
    "urn:ietf:params:oauth:grant-type:token-exchange";

// Answers a token request with grant_type kTokenExchangeGrant and the parsed `form`, and counts
// the attempt and its outcome in state.federation.stats.
FakeReply HandleTokenExchange(const FakeRequest& request,
                              const std::map<std::string, std::string>& form,
                              WorkspaceState& state);

}  // namespace dbproxy::fake
