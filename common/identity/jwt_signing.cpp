#include "common/identity/jwt_signing.hpp"

#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "common/identity/base64url.hpp"
#include "common/identity/jwks.hpp"

namespace dbproxy {
namespace {

struct BioFree {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

constexpr int kRsaBits = 2048;

Error InvalidKey(const std::string& why) {
  return MakeError(Errc::kInvalidRequest, "invalid signing key: " + why);
}

// PEM password callback: an encrypted key is refused instead of prompting on a terminal.
int NoPassword(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) {
  return -1;
}

// The alg a key signs with: ES256 for P-256, RS256 for RSA of 2048 to 8192 bits.
std::optional<JwsAlg> AlgOf(EVP_PKEY* key) {
  const std::optional<KeyKind> kind = KeyKindOf(key);
  if (kind == KeyKind::kEcP256) return JwsAlg::kEs256;
  const int bits = EVP_PKEY_get_bits(key);
  if (kind == KeyKind::kRsa && bits >= 2048 && bits <= 8192) return JwsAlg::kRs256;
  return std::nullopt;
}

// Serialises with nlohmann's strict UTF-8 check, which throws; translated here.
std::optional<std::string> Dump(const nlohmann::json& value) {
  try {
    return value.dump();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace

JwtSigningKey::JwtSigningKey(EvpPkeyPtr key, JwsAlg alg, std::string kid)
    : key_(std::move(key)), alg_(alg), kid_(std::move(kid)) {}

Result<JwtSigningKey> JwtSigningKey::Generate(std::string_view alg) {
  const ErrorQueueGuard clear_errors;
  EvpPkeyPtr key;
  if (alg == "ES256") {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  } else if (alg == "RS256") {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(kRsaBits)));
  } else {
    return MakeError(Errc::kInvalidRequest, "signing keys are ES256 or RS256");
  }
  if (!key) return MakeError(Errc::kInternal, "key generation failed");
  Result<std::string> kid = JwkThumbprint(key.get());
  if (!kid) return std::move(kid).error();
  return JwtSigningKey(std::move(key), *JwsAlgFromName(alg), std::move(*kid));
}

Result<JwtSigningKey> JwtSigningKey::FromPem(const SecretBytes& pem) {
  const ErrorQueueGuard clear_errors;
  if (pem.empty() || pem.size() > 16 * 1024) return InvalidKey("not a PKCS#8 PEM private key");
  const BioPtr bio(BIO_new_mem_buf(pem.bytes().data(), static_cast<int>(pem.size())));
  if (!bio) return MakeError(Errc::kInternal, "out of memory");
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  if (!key) return InvalidKey("not an unencrypted PKCS#8 PEM private key");
  const std::optional<JwsAlg> alg = AlgOf(key.get());
  if (!alg) return InvalidKey("only EC P-256 and RSA (2048 to 8192 bits) keys sign");
  Result<std::string> kid = JwkThumbprint(key.get());
  if (!kid) return std::move(kid).error();
  JwtSigningKey parsed(std::move(key), *alg, std::move(*kid));
  // One text form per key: what ToPem would write, byte for byte.
  Result<SecretBytes> canonical = parsed.ToPem();
  if (!canonical) return std::move(canonical).error();
  if (!canonical->Equals(pem.bytes())) return InvalidKey("not in the form dbproxy writes");
  return parsed;
}

Result<SecretBytes> JwtSigningKey::ToPem() const {
  const ErrorQueueGuard clear_errors;
  // BIO_s_secmem: its buffer comes from OpenSSL's secure heap and is cleansed when freed.
  const BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return MakeError(Errc::kInternal, "could not encode the signing key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  if (size <= 0 || data == nullptr) {
    return MakeError(Errc::kInternal, "could not encode the signing key");
  }
  return SecretBytes::CopyFrom(std::string_view(data, static_cast<std::size_t>(size)));
}

nlohmann::json JwtSigningKey::PublishedJwk() const {
  Result<nlohmann::json> jwk = PublicJwk(key_.get());
  // A JwtSigningKey only ever holds a key PublicJwk supports.
  if (!jwk) return nlohmann::json::object();
  (*jwk)["kid"] = kid_;
  (*jwk)["alg"] = JwsAlgName(alg_);
  (*jwk)["use"] = "sig";
  return *std::move(jwk);
}

Result<SecretBytes> SignJwt(const nlohmann::json& header_extra, const nlohmann::json& claims,
                            const JwtSigningKey& key) {
  if (!claims.is_object()) return MakeError(Errc::kInvalidRequest, "claims must be an object");
  if (!header_extra.is_null() && !header_extra.is_object()) {
    return MakeError(Errc::kInvalidRequest, "extra header must be an object");
  }
  nlohmann::json header = {{"typ", "JWT"}};
  for (const char* reserved : {"alg", "kid", "crit"}) {
    if (header_extra.is_object() && header_extra.contains(reserved)) {
      return MakeError(Errc::kInvalidRequest, std::string("extra header must not set ") + reserved);
    }
  }
  if (header_extra.is_object()) header.update(header_extra);
  header["alg"] = JwsAlgName(key.alg());
  header["kid"] = key.kid();
  const std::optional<std::string> header_text = Dump(header);
  const std::optional<std::string> claims_text = Dump(claims);
  if (!header_text || !claims_text) {
    return MakeError(Errc::kInvalidRequest, "header or claims hold a string that is not UTF-8");
  }
  const std::string signing_input =
      Base64UrlEncode(*header_text) + "." + Base64UrlEncode(*claims_text);
  Result<std::string> signature = JwsSign(key.alg(), key.pkey(), signing_input);
  if (!signature) return std::move(signature).error();
  std::string encoded = Base64UrlEncode(*signature);
  SecretBytes token(signing_input.size() + 1 + encoded.size());
  std::memcpy(token.bytes().data(), signing_input.data(), signing_input.size());
  token.bytes()[signing_input.size()] = '.';
  std::memcpy(token.bytes().data() + signing_input.size() + 1, encoded.data(), encoded.size());
  WipeString(encoded);
  WipeString(*signature);
  return token;
}

}  // namespace dbproxy
