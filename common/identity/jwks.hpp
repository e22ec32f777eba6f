// JSON Web Key Sets (RFC 7517) of an identity provider: the public keys its tokens are checked
// against, held as OpenSSL 3 keys; and the reverse, a public key as a JWK, for publishing the
// agent's own keys.
//
// Accepted keys (RFC 7518 section 6, RFC 8037):
//   kty "RSA"  n, e          modulus 2048 to 8192 bits, e odd and 3 <= e < 2^32
//   kty "EC"   crv, x, y     crv "P-256" (x, y 32 bytes) or "P-384" (48 bytes); the point must
//                            be on the curve (OpenSSL's full public-key check)
//   kty "OKP"  crv, x        crv "Ed25519", x 32 bytes
// Optional members read: kid (string, at most 256 bytes), use (a key whose use is not "sig" is
// skipped), key_ops (skipped unless it lists "verify"), alg (must be a JwsAlg that fits the key:
// a token must then use exactly that alg). Others (x5c, x5t, private members) are ignored; keys
// are never taken from x5c. Leading zero bytes in n and e are accepted (some providers send
// them; they do not change the key).
//
// Pure; thread-safe: a parsed Jwks may be read (and its keys used to verify) from several
// threads at once.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/result.hpp"
#include "common/identity/jws.hpp"
#include "common/identity/openssl_ptr.hpp"

namespace dbproxy {

inline constexpr std::size_t kMaxJwksBytes = 256 * 1024;
inline constexpr std::size_t kMaxJwksKeys = 100;
inline constexpr std::size_t kMaxKidBytes = 256;

struct Jwk {
  std::string kid{};            // "" when the JWK has none
  std::optional<JwsAlg> alg{};  // the JWK's "alg"; when set, the only algorithm it verifies
  KeyKind kind = KeyKind::kRsa;
  EvpPkeyPtr key{};  // the public key; never null in a parsed Jwks
};

struct SkippedJwk {
  std::size_t index = 0;  // position in "keys"
  std::string kid{};      // as DisplayKid shows it
  std::string reason{};   // "RSA modulus has 1024 bits (2048 to 8192 accepted)"
};

struct Jwks {
  std::vector<Jwk> keys{};
  std::vector<SkippedJwk> skipped{};  // for the operator's log: keys left out, and why
};

// Parses a JWKS document {"keys":[...]}. Each key that is malformed, unsupported or not for
// signatures goes to `skipped` with its reason, and the others are kept; so does a key whose
// (kid, kind) repeats an earlier one (the first is kept). A JWKS with no usable key is not an
// error here: every token then fails with JwtErrc::kUnknownKey.
// Errors: kUpstreamError "JWKS: ..." when the document is over kMaxJwksBytes, is not a JSON
// object (a key repeated in any object counts as malformed), has no "keys" array, or has more
// than kMaxJwksKeys entries.
Result<Jwks> ParseJwks(std::string_view document);

// One JWK object. Errors: kInvalidRequest with the reason ParseJwks records as skipped.
Result<Jwk> ParseJwk(const nlohmann::json& jwk);

// The required public members of `key` (RFC 7638 section 3.2), e.g.
// {"crv":"P-256","kty":"EC","x":"...","y":"..."}; a private key gives its public half.
// Errors: kInvalidRequest when the key is not one of the kinds above.
Result<nlohmann::json> PublicJwk(EVP_PKEY* key);

// RFC 7638 thumbprint: base64url(SHA-256(PublicJwk(key).dump())); dump() writes the members in
// lexicographic order without whitespace, which is the canonical form RFC 7638 hashes.
Result<std::string> JwkThumbprint(EVP_PKEY* key);

// `kid` for a log line or a message: itself when printable and at most 64 bytes, else a
// placeholder, so a hostile kid cannot forge log lines.
std::string DisplayKid(std::string_view kid);

}  // namespace dbproxy
