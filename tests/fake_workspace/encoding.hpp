// Encodings the fake workspace parses from untrusted requests (form bodies, query strings, HTTP
// Basic credentials) and produces in its tokens. Parsers are strict: malformed input yields
// nullopt rather than a best guess, so tests notice clients that send sloppy encodings.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace dbproxy::fake {

// Decodes application/x-www-form-urlencoded text: "%XX" escapes and '+' as space.
// nullopt on a '%' not followed by two hex digits.
std::optional<std::string> FormUrlDecode(std::string_view text);

// Parses "a=1&b=2" into decoded pairs. Empty segments are skipped; a segment without '=' has an
// empty value. nullopt on a bad escape, an empty name, or a name given twice (RFC 6749 §3.2
// forbids repeated parameters).
std::optional<std::map<std::string, std::string>> ParseForm(std::string_view text);

// Standard base64 (RFC 4648 §4) with required padding; nullopt on any other character, wrong
// length or non-canonical trailing bits.
std::optional<std::string> Base64Decode(std::string_view text);

// base64url (RFC 4648 §5) without padding.
std::string Base64UrlEncode(std::string_view bytes);

// Decodes unpadded base64url, as JWS uses it; nullopt on padding, any other character, a length
// of 1 mod 4 or non-canonical trailing bits.
std::optional<std::string> Base64UrlDecode(std::string_view text);

// `size` bytes from OpenSSL's CSPRNG. Throws std::runtime_error if it fails.
std::string RandomBytes(std::size_t size);

// A random RFC 4122 version-4 UUID in lower-case 8-4-4-4-12 form.
std::string NewUuid();

}  // namespace dbproxy::fake
