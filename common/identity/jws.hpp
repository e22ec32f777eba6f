// JWS signature algorithms (RFC 7518 section 3; EdDSA from RFC 8037) and the one place where an
// algorithm, a key and a signing input become a signature or a signature check.
//
// Only asymmetric algorithms exist here: "none" and the HMAC family (HS256/384/512) have no
// JwsAlg value, so no configuration can turn them on, and a verifier holding only public keys
// cannot be made to use a public key as an HMAC secret.
//
// Pure; thread-safe (OpenSSL 3 keys may be used for concurrent signature checks).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/core/result.hpp"
#include "common/identity/openssl_ptr.hpp"

namespace dbproxy {

enum class JwsAlg { kRs256, kRs384, kRs512, kPs256, kPs384, kPs512, kEs256, kEs384, kEdDsa };

// The kinds of public key a JWKS may hold; each algorithm needs exactly one.
enum class KeyKind { kRsa, kEcP256, kEcP384, kEd25519 };

// The algorithm named `name` exactly as in a JWS header ("RS256", "EdDSA", case-sensitive);
// nullopt for every other name, "none" and "HS256" included.
std::optional<JwsAlg> JwsAlgFromName(std::string_view name);
std::string_view JwsAlgName(JwsAlg alg);

// True for "none" and "HS*" (in any case): names that must be refused with that reason even
// when an operator configured them.
bool IsForbiddenJwsAlgName(std::string_view name);

// RS* and PS* need kRsa, ES256 kEcP256, ES384 kEcP384, EdDSA kEd25519.
KeyKind KeyKindFor(JwsAlg alg);
// "RSA", "EC P-256", "EC P-384", "Ed25519": for messages.
std::string_view KeyKindName(KeyKind kind);
// The kind of `key`; nullopt for any other key (RSA-PSS-only keys, other curves, X25519).
std::optional<KeyKind> KeyKindOf(EVP_PKEY* key);

// True when `signature` is a valid JWS signature by `key` over `signing_input`:
//   RS*: RSASSA-PKCS1-v1_5; PS*: RSASSA-PSS, MGF1 with the same hash, salt length = hash length;
//   ES*: the raw r||s form of RFC 7518 section 3.4 (64 bytes for ES256, 96 for ES384);
//   EdDSA: Ed25519 (64 bytes).
// False, without calling OpenSSL, when the key is not of KeyKindFor(alg) or the signature has
// the wrong length (RSA: the modulus size).
bool JwsVerify(JwsAlg alg, EVP_PKEY* key, std::string_view signing_input,
               std::string_view signature);

// The JWS signature (raw bytes, in the forms above) of `signing_input` by the private `key`.
// Errors: kInvalidRequest when the key is not of KeyKindFor(alg) or has no private half;
// kInternal when OpenSSL fails. Messages never carry key material.
Result<std::string> JwsSign(JwsAlg alg, EVP_PKEY* key, std::string_view signing_input);

}  // namespace dbproxy
