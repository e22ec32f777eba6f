// Splitting an HTTP request target into decoded path segments and query parameters.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/result.hpp"

namespace dbproxy {

struct SplitTarget {
  std::string_view path;   // before '?'
  std::string_view query;  // after '?', may be empty
};
SplitTarget SplitRequestTarget(std::string_view target);

// "/v1/workspaces/prod%2Dx/credentials" -> {"v1","workspaces","prod-x","credentials"}.
// kInvalidRequest when the path does not start with '/', has an empty segment ("//"), a
// segment that decodes to "." or "..", or contains '/' once decoded.
Result<std::vector<std::string>> DecodePathSegments(std::string_view path);

// "a=1&b=x%20y" -> {a:"1", b:"x y"}. kInvalidRequest on bad escapes or a repeated key.
Result<std::map<std::string, std::string>> ParseQuery(std::string_view query);

}  // namespace dbproxy
