// Base64url without padding (RFC 4648 section 5), the encoding of every JWS segment and JWK
// member (RFC 7515 section 2).
//
// Decoding accepts exactly one spelling per byte string: the alphabet A-Z a-z 0-9 '-' '_' only,
// no '=' padding, no whitespace, a length that is not 1 modulo 4, and unused trailing bits equal
// to zero. So "YQ" decodes and "YR", "YQ==" and "Y Q" are refused: a token or key has one text
// form, and two texts never decode to the same bytes.
//
// Resists timing: characters are mapped with arithmetic instead of a table lookup, so decoding
// a bearer token does not leak its bytes through the cache. (Lengths are not hidden.)
// Pure; thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/core/result.hpp"

namespace dbproxy {

std::string Base64UrlEncode(std::span<const unsigned char> bytes);
std::string Base64UrlEncode(std::string_view bytes);

// The bytes `text` encodes, in a std::string used as a byte buffer.
// Errors: kInvalidRequest "invalid base64url" (the text is never quoted).
Result<std::string> Base64UrlDecode(std::string_view text);

}  // namespace dbproxy
