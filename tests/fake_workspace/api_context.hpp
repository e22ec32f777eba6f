// What a REST endpoint handler gets once the caller's token has been checked.
#pragma once

#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "tests/fake_workspace/http_types.hpp"
#include "tests/fake_workspace/scopes.hpp"
#include "tests/fake_workspace/state.hpp"

namespace dbproxy::fake {

struct ApiContext {
  const FakeRequest& request;
  const TokenRecord& token;
  Access access = Access::kFull;
  std::string_view path_suffix;  // what follows a prefix route, e.g. the statement id
};

using ApiHandler = FakeReply (*)(const ApiContext&, WorkspaceState&);

// The request body as a JSON object (an empty body counts as {}), or the
// 400 MALFORMED_REQUEST reply to send.
std::variant<nlohmann::json, FakeReply> ParseJsonBody(const FakeRequest& request);

// 400 INVALID_PARAMETER_VALUE with `message`.
FakeReply InvalidParameter(std::string_view message);

}  // namespace dbproxy::fake
