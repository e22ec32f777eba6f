// JSON Web Tokens (RFC 7519) signed with JWS compact serialisation (RFC 7515): parsing, checking
// against an issuer's JWKS and a policy, and the claims as policy attributes.
//
// A caller may present an identity-provider token to the agent; its claims become attributes
// (jwt.sub, jwt.groups, ...) that policy rules read. It never replaces the kernel's identity of
// the caller. The agent fetches the JWKS and passes the time in; this file does no I/O.
//
// Secrets: a token is a bearer credential. No message, reason or log detail produced here
// contains the token, a segment of it or its signature; a ParsedJwt holds the token's content
// and must not be logged. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/result.hpp"
#include "common/identity/jwks.hpp"

namespace dbproxy {

inline constexpr std::size_t kMaxJwtBytes = 16 * 1024;

struct JwtHeader {
  std::string alg{};  // as sent; checked by VerifyJwt, not by ParseJwt
  std::string kid{};  // "" when absent
  std::string typ{};  // "" when absent; informative only
};

struct ParsedJwt {
  JwtHeader header{};
  nlohmann::json claims = nlohmann::json::object();
  std::string signing_input{};  // "<header>.<payload>" exactly as received: the signed bytes
  std::string signature{};      // decoded signature bytes (empty for an unsigned token)
};

// Splits and decodes a compact JWS. Strict: at most kMaxJwtBytes; exactly three segments
// separated by '.'; header and payload are canonical base64url (see base64url.hpp) of one JSON
// object each (not of empty text); the header has a string alg, kid and typ are strings when
// present, and "crit" is refused (no extension is understood, RFC 7515 section 4.1.11). A key
// repeated in any object of the header or payload is refused: nlohmann keeps the last of
// repeated keys and other parsers the first, so {"sub":"a","sub":"b"} would name one caller to
// the issuer and another to us. Header members jku, x5u, jwk and x5c are ignored: keys come
// only from the JWKS. The signature may be empty (VerifyJwt then refuses the token).
// Errors: kInvalidRequest "malformed token: <what>".
Result<ParsedJwt> ParseJwt(std::string_view compact);

// What an issuer's tokens must satisfy. Validate with ValidateJwtPolicy when read from config.
struct JwtPolicy {
  std::string issuer{};                  // "iss" must equal this
  std::vector<std::string> audiences{};  // "aud" (a string or an array) must contain one
  std::vector<std::string> algorithms{"RS256", "ES256"};  // subset of the JwsAlg names
  std::int64_t clock_skew_seconds = 60;                   // allowance on exp, nbf and iat
};

inline constexpr std::int64_t kMaxClockSkewSeconds = 600;

// OK when issuer is non-empty printable text, audiences is non-empty with non-empty entries,
// algorithms is non-empty and each is RS256/384/512, PS256/384/512, ES256/384 or EdDSA, and
// 0 <= clock_skew_seconds <= kMaxClockSkewSeconds. Errors: kInvalidRequest naming the field;
// "none" and HS* are refused with a message saying they are never accepted.
Status ValidateJwtPolicy(const JwtPolicy& policy);

// Why a token was refused. kUnknownKey means the JWKS has no key for the token: the only
// failure that fetching the JWKS again (rate-limited by the caller) can cure.
enum class JwtErrc {
  kMalformed,         // a claim the checks need is missing or has the wrong type
  kAlgorithmRefused,  // none, HS*, unsupported, or not in the policy's algorithms
  kUnknownKey,        // no key with the token's kid (or no kid and no single fitting key)
  kKeyMismatch,       // the kid names a key of the wrong kind or alg, or the choice is ambiguous
  kBadSignature,      // the signature does not verify (includes wrong length)
  kExpired,           // now >= exp + skew
  kNotYetValid,       // now < nbf - skew
  kIssuedInFuture,    // iat > now + skew
  kWrongIssuer,       // iss missing or not the policy's issuer
  kWrongAudience,     // no aud entry is one of the policy's audiences
};

struct JwtError {
  JwtErrc code = JwtErrc::kMalformed;
  // For logs and for the caller: "token expired at 2026-01-02T03:04:05Z", "audience mismatch".
  // Never contains the token or its signature; kid, iss and aud values appear only when short
  // and printable.
  std::string reason{};
};

struct VerifiedJwt {
  std::string issuer{};
  std::string subject{};                             // "" when the token has no sub
  std::string audience{};                            // the policy audience that matched
  nlohmann::json claims = nlohmann::json::object();  // the whole payload
  std::int64_t expires_at = 0;                       // exp, seconds since the epoch
};

// VerifyJwt's answer: a VerifiedJwt or a JwtError (Result<T> carries only dbproxy::Error).
class [[nodiscard]] JwtVerification {
 public:
  JwtVerification(VerifiedJwt value) : state_(std::move(value)) {}  // NOLINT: implicit
  JwtVerification(JwtError error) : state_(std::move(error)) {}     // NOLINT: implicit

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  // REQUIRES: has_value().
  const VerifiedJwt& value() const& { return std::get<0>(state_); }
  VerifiedJwt&& value() && { return std::get<0>(std::move(state_)); }
  const VerifiedJwt& operator*() const& { return value(); }
  const VerifiedJwt* operator->() const { return &value(); }
  // REQUIRES: !has_value().
  const JwtError& error() const& { return std::get<1>(state_); }

 private:
  std::variant<VerifiedJwt, JwtError> state_;
};

// Checks `token` against `jwks` and `policy` at `now_unix`, in this order (claims are read only
// once the signature holds):
//   1. alg: not none or HS*, a JwsAlg, and in policy.algorithms (kAlgorithmRefused);
//   2. key: the JWKS keys with the token's kid (all keys when it has none) that fit alg (kind,
//      and the JWK's own alg when it has one). A kid no key has, or no kid and no fitting key:
//      kUnknownKey. A kid whose keys do not fit, or several fitting keys: kKeyMismatch;
//   3. signature (JwsVerify): kBadSignature;
//   4. iss equals policy.issuer; aud (string or array of strings) contains a policy audience;
//      exp present and now < exp + skew; nbf, when present, now >= nbf - skew; iat, when
//      present, iat <= now + skew. NumericDates are integers or finite numbers in
//      [0, 253402300799] (year 9999); fractions are rounded toward refusal.
JwtVerification VerifyJwt(const ParsedJwt& token, const Jwks& jwks, const JwtPolicy& policy,
                          std::int64_t now_unix);

// The credential of an Authorization header value "Bearer <credential>" (scheme compared
// ignoring case, RFC 7235; spaces or tabs after it). "" for any other scheme, or none.
std::string_view BearerCredential(std::string_view authorization);

// The "iss" of a token that parses as a JWT (ParseJwt), unverified: only for choosing whether
// and with which idp to verify it. nullopt when it does not parse or has no string iss.
std::optional<std::string> UnverifiedIssuer(std::string_view token);

// A policy attribute from a claim: strings as they are, numbers and booleans as their JSON
// text ("42", "true"), arrays of those as arrays.
using ClaimValue = std::variant<std::string, std::vector<std::string>>;

// The token's claims as attributes: "jwt.iss", "jwt.sub", "jwt.aud" always (when present), and
// "jwt.<name>" for each of `claim_names` the token has. Claims that are objects, null, or arrays
// holding anything but strings, numbers and booleans are left out.
std::map<std::string, ClaimValue> ClaimAttributes(const VerifiedJwt& token,
                                                  const std::vector<std::string>& claim_names);

}  // namespace dbproxy
