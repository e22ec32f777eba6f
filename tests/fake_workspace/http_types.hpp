// Plain request/reply values exchanged between the fake workspace's TLS server and its endpoint
// handlers. Handlers never see Beast types, so they compile quickly and can be tested directly.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace dbproxy::fake {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct FakeRequest {
  std::string method;                        // "GET", "POST", ...
  std::string target;                        // as received: path plus optional "?query"
  std::string path;                          // target without the query
  std::map<std::string, std::string> query;  // URL-decoded query parameters
  HeaderList headers;                        // names and values as received, in order
  std::string body;

  // The first header named `name` (ASCII case-insensitive), or nullopt.
  std::optional<std::string_view> Header(std::string_view name) const;
};

struct FakeReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  HeaderList headers;  // extra headers; the server adds Content-Type and X-Request-Id
  // When set, the server streams this many bytes of the deterministic blob pattern (byte i is
  // 'a' + i % 26) instead of `body`, without buffering them.
  std::optional<std::uint64_t> stream_bytes;
};

// A reply whose body is `body` serialized as JSON.
FakeReply JsonReply(int status, const nlohmann::json& body);

// Databricks REST error: {"error_code": code, "message": message}. `code` is a number for
// auth-layer errors and a string such as "INVALID_PARAMETER_VALUE" otherwise.
FakeReply ApiError(int status, const nlohmann::json& code, std::string_view message);

// RFC 6749 §5.2 error as Databricks sends it, with a fresh "error_id".
FakeReply OAuthError(int status, std::string_view error, std::string_view description);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace dbproxy::fake
