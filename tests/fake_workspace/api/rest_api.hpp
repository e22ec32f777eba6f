// The workspace's REST API (/api/...): bearer-token authentication, scope checks, routing.
#pragma once

#include "tests/fake_workspace/http_types.hpp"
#include "tests/fake_workspace/state.hpp"

namespace dbproxy::fake {

// Answers a request whose path starts with "/api/". Errors use Databricks' shapes: numeric
// error_code for authentication failures, string codes otherwise.
FakeReply HandleApiRequest(const FakeRequest& request, WorkspaceState& state);

}  // namespace dbproxy::fake
