// The test-only control side channel under /_fake/: register clients, change the token lifetime,
// script faults, read counters and the request log, revoke tokens, reset. No authentication: the
// fake only listens on 127.0.0.1 and holds no real secrets.
#pragma once

#include "tests/fake_workspace/http_types.hpp"
#include "tests/fake_workspace/state.hpp"

namespace dbproxy::fake {

// Answers a request whose path starts with "/_fake/". Bodies are JSON objects; unknown keys and
// out-of-range values are 400 {"error":"..."} so a mistyped test fails loudly.
FakeReply HandleControlRequest(const FakeRequest& request, WorkspaceState& state);

}  // namespace dbproxy::fake
