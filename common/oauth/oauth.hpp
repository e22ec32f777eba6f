// Databricks OAuth machine-to-machine (client credentials) messages: workspace URLs, the OIDC
// discovery document, the token request body and the token endpoint's answer.
//
// Pure (no I/O, no clock): the agent performs the HTTP calls and passes the time in.
// Thread-safe: no shared state. Error messages are safe for clients: upstream text is truncated
// and passed through RedactSecrets; no secret or token ever appears in a message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/core/result.hpp"
#include "common/core/secret_bytes.hpp"

namespace dbproxy {

// Normalises a workspace URL to its origin, the form used as the store's host, for the
// X-Databricks-Host header and for same-origin checks:
//   "HTTPS://Adb-1.Example.com:443/" -> "https://adb-1.example.com"
//   "https://host.example.com:8443"  -> "https://host.example.com:8443"
// Accepts scheme "https" (any case; "http" only when `allow_insecure`, which no production
// caller sets), a host name ([A-Za-z0-9.-], labels non-empty and not starting or ending in '-')
// or a bracketed IPv6 literal, an optional port 1-65535, and at most a single trailing "/".
// The scheme and host are lowercased, the default port (443, or 80 for http) and leading zeros
// of the port are dropped; the result never ends in "/".
// Errors: kInvalidRequest with a message naming the problem (userinfo such as
// "https://evil.com@host", path, query, fragment, bad port, bad characters, over 2048 bytes).
Result<std::string> NormalizeWorkspaceHost(std::string_view url, bool allow_insecure = false);

struct OidcEndpoints {
  std::string issuer;          // as given by the workspace; "" when absent
  std::string token_endpoint;  // normalised origin + path, e.g. "https://h/oidc/v1/token"
};

// Parses the discovery document (GET <host>/oidc/.well-known/oauth-authorization-server).
// `host` is the workspace origin (normalised again here).
// Errors: kUpstreamError when the body is not a JSON object, token_endpoint is missing or not a
// string, or token_endpoint is not an https URL on the same origin as `host` (a client secret
// is never sent anywhere else); kInvalidRequest when `host` itself is not a valid workspace URL.
Result<OidcEndpoints> ParseDiscovery(std::string_view body, std::string_view host);

// Form body for a client-credentials grant:
//   "grant_type=client_credentials&scope=<UrlEncode(scope)>", or without "&scope=" when `scope`
// is empty. The client secret travels in HTTP Basic authentication (built by the caller's HTTP
// library), never in this body, so the body is safe to log.
std::string ClientCredentialsBody(std::string_view scope);

// Form body for an RFC 8693 token exchange of a JWT (workload identity federation):
//   "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange
//    &subject_token=<UrlEncode(token)>&subject_token_type=urn%3A...%3Ajwt
//    &client_id=<UrlEncode(client_id)>&scope=<UrlEncode(scope)>"
// (client_id and scope left out when empty). The subject token is a bearer credential, so the
// body is built in, and returned as, SecretBytes.
SecretBytes TokenExchangeBody(const SecretBytes& subject_token, std::string_view client_id,
                              std::string_view scope);

struct TokenGrant {
  SecretBytes access_token;
  std::string token_type;  // as sent, e.g. "Bearer"
  std::int64_t expires_in = 0;
  std::string scope;
};

// Interprets the token endpoint's answer. `body` is wiped before return on every path (it may
// hold a token); the caller keeps ownership of the (now empty) string.
// Success (HTTP 200): a JSON object with a non-empty string access_token, token_type equal to
// "Bearer" ignoring case, expires_in a positive integer (a JSON integer or a string of digits,
// at most 10 years), optional string scope (default: `requested_scope`). Duplicate keys are
// refused.
// Errors, with RFC 6749 {"error","error_description"} bodies (description redacted, control
// characters replaced, then cut to 200 bytes):
//   error invalid_client, unauthorized_client or (token exchange) invalid_grant ->
//   kInvalidCredential
//       "workspace rejected the credential: <error>: <description>"
//   error invalid_scope -> kInvalidRequest "workspace rejected scope '<scope>': <description>"
//   HTTP 429 or 5xx -> kUpstreamUnavailable, with retry_after_seconds = `retry_after_seconds`
//       (kDefaultRetryAfterSeconds when that is 0: the workspace sent none)
//   anything else (other statuses and errors, non-JSON, a 200 missing a field) -> kUpstreamError.
// log_detail carries the HTTP status and the workspace's error code.
Result<TokenGrant> ParseTokenResponse(long http_status, std::string& body,
                                      std::string_view requested_scope, int retry_after_seconds);

inline constexpr int kMaxRetryAfterSeconds = 3600;
// The wait a kUpstreamUnavailable error tells the caller when nothing better is known (the
// workspace sent no Retry-After, it could not be reached): every 503 carries a Retry-After.
// The token broker takes it as the floor of its back-off, so the two agree.
inline constexpr int kDefaultRetryAfterSeconds = 1;

// Interprets a Retry-After field value (RFC 9110 section 10.2.3): delay-seconds (digits only) or
// an IMF-fixdate such as "Sun, 06 Nov 1994 08:49:37 GMT", relative to `now_unix`. Surrounding
// spaces and tabs are ignored. Returns the seconds to wait, capped at kMaxRetryAfterSeconds;
// 0 when the value is empty, invalid, in the past, or in one of the obsolete date formats
// (RFC 850, asctime), which Databricks does not send.
int ParseRetryAfter(std::string_view value, std::int64_t now_unix);

// Canonical form of a space-separated scope list: empty entries and duplicates dropped, sorted,
// joined by single spaces ("sql  all-apis sql" -> "all-apis sql"; "" -> "").
// Errors: kInvalidRequest when an entry has a character outside [A-Za-z0-9:_.-] or the
// scope is longer than 4096 bytes.
Result<std::string> CanonicalScope(std::string_view scope);

// Percent-encodes every byte except RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~), with
// upper-case hex digits. A space becomes "%20".
std::string UrlEncode(std::string_view text);

// Percent-decodes `text`. '+' is kept as '+' (this is RFC 3986 decoding, not form decoding).
// Errors: kInvalidRequest on '%' not followed by two hex digits, and on "%00" or a raw NUL byte
// (a NUL would truncate the value in C APIs).
Result<std::string> UrlDecode(std::string_view text);

}  // namespace dbproxy
