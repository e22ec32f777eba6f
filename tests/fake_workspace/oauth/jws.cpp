#include "tests/fake_workspace/oauth/jws.hpp"

#include <memory>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "tests/fake_workspace/encoding.hpp"

namespace dbproxy::fake {
namespace {

constexpr std::size_t kEs256SignatureBytes = 64;  // r || s, 32 bytes each

// A base64url part of a JWT that must decode to a JSON object.
std::optional<nlohmann::json> DecodeJsonPart(std::string_view part) {
  const auto bytes = Base64UrlDecode(part);
  if (!bytes) return std::nullopt;
  nlohmann::json value = nlohmann::json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

// JWS carries ES256 signatures as raw r || s (RFC 7518 §3.4); EVP_DigestVerify wants DER.
std::optional<std::string> Es256SignatureToDer(std::string_view raw) {
  if (raw.size() != kEs256SignatureBytes) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> signature(ECDSA_SIG_new(), &ECDSA_SIG_free);
  BIGNUM* r = BN_bin2bn(bytes, kEs256SignatureBytes / 2, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + kEs256SignatureBytes / 2, kEs256SignatureBytes / 2, nullptr);
  if (!signature || r == nullptr || s == nullptr || ECDSA_SIG_set0(signature.get(), r, s) != 1) {
    BN_free(r);  // ECDSA_SIG_set0 takes ownership only when it succeeds
    BN_free(s);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(signature.get(), &der);
  if (length <= 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

}  // namespace

std::optional<DecodedJwt> DecodeJwt(std::string_view token) {
  const std::size_t first = token.find('.');
  const std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  auto header = DecodeJsonPart(token.substr(0, first));
  auto claims = DecodeJsonPart(token.substr(first + 1, second - first - 1));
  auto signature = Base64UrlDecode(token.substr(second + 1));
  if (!header || !claims || !signature) return std::nullopt;
  return DecodedJwt{.header = std::move(*header),
                    .claims = std::move(*claims),
                    .signing_input = std::string(token.substr(0, second)),
                    .signature = std::move(*signature)};
}

std::optional<JwsAlgorithm> AcceptedAlgorithm(const nlohmann::json& header) {
  const auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) return std::nullopt;
  if (*alg == "RS256") return JwsAlgorithm::kRs256;
  if (*alg == "ES256") return JwsAlgorithm::kEs256;
  return std::nullopt;
}

bool SignatureVerifies(const DecodedJwt& jwt, JwsAlgorithm algorithm, const VerificationKey& key) {
  if (key.algorithm != algorithm || !key.key) return false;
  std::string der;
  const std::string* signature = &jwt.signature;
  if (algorithm == JwsAlgorithm::kEs256) {
    auto converted = Es256SignatureToDer(jwt.signature);
    if (!converted) return false;
    der = std::move(*converted);
    signature = &der;
  }
  // RS256 is RSASSA-PKCS1-v1_5, OpenSSL's default padding for an RSA verify context.
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                        &EVP_MD_CTX_free);
  return context &&
         EVP_DigestVerifyInit_ex(context.get(), nullptr, "SHA256", nullptr, nullptr, key.key.get(),
                                 nullptr) == 1 &&
         EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature->data()),
                          signature->size(),
                          reinterpret_cast<const unsigned char*>(jwt.signing_input.data()),
                          jwt.signing_input.size()) == 1;
}

}  // namespace dbproxy::fake
