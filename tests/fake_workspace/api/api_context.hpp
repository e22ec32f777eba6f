// What a REST endpoint handler gets once the caller's token has been checked.
#pragma once

#include <charconv>
#include <string_view>
#include <system_error>
#include <variant>

#include <nlohmann/json.hpp>

#include "tests/fake_workspace/http_types.hpp"
#include "tests/fake_workspace/oauth/scopes.hpp"
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

// Parses all of `text` as a decimal integer (no sign for unsigned types); false otherwise.
template <class Integer>
bool ParseDecimal(std::string_view text, Integer* value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

// 400 INVALID_PARAMETER_VALUE with `message`.
FakeReply InvalidParameter(std::string_view message);

}  // namespace dbproxy::fake
