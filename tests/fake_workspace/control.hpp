// The test-only control side channel under /_fake/: register clients, change the token lifetime,
// script faults, read counters and the request log, revoke tokens, reset. No authentication: the
// fake only listens on 127.0.0.1 and holds no real secrets.
#pragma once

#include <initializer_list>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tests/fake_workspace/http_types.hpp"
#include "tests/fake_workspace/state.hpp"

namespace dbproxy::fake {

// Answers a request whose path starts with "/_fake/". Bodies are JSON objects; unknown keys and
// out-of-range values are 400 {"error":"..."} so a mistyped test fails loudly.
FakeReply HandleControlRequest(const FakeRequest& request, WorkspaceState& state);

// For the endpoints of other files under /_fake/: the body as a JSON object whose keys are all in
// `known`, or nullopt; and the 400 {"error": message} reply.
std::optional<nlohmann::json> ParseControlObject(const FakeRequest& request,
                                                 std::initializer_list<std::string_view> known);
FakeReply ControlError(std::string_view message);

}  // namespace dbproxy::fake
