// The workspace's OAuth authorization server: discovery and the token endpoint with its
// client-credentials and token-exchange (federation, oauth/token_exchange.hpp) grants, answering
// the way Databricks does (see /work/shared/DATABRICKS.md).
#pragma once

#include "tests/fake_workspace/http_types.hpp"
#include "tests/fake_workspace/state.hpp"

namespace dbproxy::fake {

// GET /oidc/.well-known/oauth-authorization-server
FakeReply HandleOAuthDiscovery(const WorkspaceState& state);

// POST /oidc/v1/token. Issues a token into `state.tokens` and counts the grant on success.
FakeReply HandleTokenRequest(const FakeRequest& request, WorkspaceState& state);

}  // namespace dbproxy::fake
