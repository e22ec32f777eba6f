// Percent-encoding for the pieces of a request target that dbproxyctl builds from user input.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace dbproxy::cli {

// Encodes `text` for use as one path segment or one query value (RFC 3986): the unreserved
// characters A-Z a-z 0-9 - . _ ~ pass through, every other byte (including '/', '?', '&', '=',
// '%', '+', space and non-ASCII UTF-8 bytes) becomes %XX with upper-case hex digits.
// Never fails; an empty input gives an empty output.
std::string PercentEncode(std::string_view text);

}  // namespace dbproxy::cli
