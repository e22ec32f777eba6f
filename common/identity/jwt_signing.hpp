// The agent's own JWT signing keys (for workload identity federation) and SignJwt.
//
// A key is ES256 (P-256) or RS256 (RSA 2048), created by Generate or read back from the one text
// form ToPem writes: unencrypted PKCS#8 PEM (one block labelled PRIVATE KEY). The PEM is secret:
// it exists only in SecretBytes (OpenSSL writes it into a secure-heap BIO, which it cleanses),
// and no message produced here contains key material. The kid is the RFC 7638 thumbprint of the
// public key, so it is stable across restarts and identical wherever the key is published.
//
// Pure apart from Generate, which takes its randomness from OpenSSL's CSPRNG (a one-off
// operator action; OpenSSL's generator is what we would inject anyway).
// Threading: a JwtSigningKey may sign from several threads at once.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/core/result.hpp"
#include "common/core/secret_bytes.hpp"
#include "common/identity/jws.hpp"
#include "common/identity/openssl_ptr.hpp"

namespace dbproxy {

class JwtSigningKey {
 public:
  // A new key for `alg`, "ES256" or "RS256". Errors: kInvalidRequest for any other alg;
  // kInternal when OpenSSL fails.
  static Result<JwtSigningKey> Generate(std::string_view alg);

  // Reads exactly what ToPem writes (the PEM is re-encoded and compared, so other PEM labels,
  // encrypted keys, extra text or other line lengths are refused). An EC P-256 key is ES256, an
  // RSA key of 2048 to 8192 bits RS256. Errors: kInvalidRequest "invalid signing key: <why>",
  // never quoting the input.
  static Result<JwtSigningKey> FromPem(const SecretBytes& pem);

  // The private key as unencrypted PKCS#8 PEM. Errors: kInternal when OpenSSL fails.
  Result<SecretBytes> ToPem() const;

  JwsAlg alg() const noexcept { return alg_; }
  const std::string& kid() const noexcept { return kid_; }
  // The public key as published in a JWKS: PublicJwk plus "kid", "alg" and "use":"sig".
  nlohmann::json PublishedJwk() const;
  // The OpenSSL key, for SignJwt. Never null.
  EVP_PKEY* pkey() const noexcept { return key_.get(); }

 private:
  JwtSigningKey(EvpPkeyPtr key, JwsAlg alg, std::string kid);

  EvpPkeyPtr key_;
  JwsAlg alg_ = JwsAlg::kEs256;
  std::string kid_;
};

// A compact JWS of `claims` signed by `key`. The header is {"alg","kid","typ":"JWT"} plus the
// members of `header_extra` (an object, or null for none; it may replace typ).
// Errors: kInvalidRequest when `claims` is not an object, `header_extra` is neither an object
// nor null or sets alg, kid or crit, or a string is not valid UTF-8; kInternal when signing
// fails. The token is a bearer credential, so it is returned in SecretBytes.
Result<SecretBytes> SignJwt(const nlohmann::json& header_extra, const nlohmann::json& claims,
                            const JwtSigningKey& key);

}  // namespace dbproxy
