// RedactSecrets: masks Databricks credentials in text bound for logs and error messages.
//
// Resists: accidental disclosure of tokens through log lines and upstream error text. It is a
// hand-written linear-time scanner (no std::regex), so it is cheap enough for every log line and
// safe to fuzz. It over-redacts rather than under-redacts: a match needs no word boundary.
//
// Pure function; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace dbproxy {

inline constexpr std::string_view kRedacted = "[REDACTED]";

// Returns `text` with each of these replaced by "[REDACTED]":
//   - personal access tokens: "dapi" + at least 32 hex digits, with an optional "-<digits>";
//   - JWT-shaped tokens: "eyJ" + base64url, then up to two ".<base64url>" parts; replaced when
//     there are three parts (the last may be empty: unsigned JWT) or the whole run is at least
//     20 characters long;
//   - OAuth client secrets "dose" and refresh tokens "doau", each + at least 16 letters/digits;
//   - the credential after "Bearer" (any case) and spaces/tabs, up to the next whitespace;
//     "Bearer " itself is kept so the log still says what kind of value was there.
// Text that merely resembles these (too short, wrong alphabet) is returned unchanged.
std::string RedactSecrets(std::string_view text);

}  // namespace dbproxy
