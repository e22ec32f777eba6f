#include "tests/fake_workspace/oauth/jwk.hpp"

#include <memory>

#include <nlohmann/json.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "tests/fake_workspace/encoding.hpp"

namespace dbproxy::fake {
namespace {

constexpr std::size_t kCoordinateBytes = 32;  // P-256
constexpr int kMinRsaBits = 2048;

using BignumPtr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
using ParamBuildPtr = std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)>;
using ParamsPtr = std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)>;
using PkeyContextPtr = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;

// jwk[name] as base64url-decoded bytes, or nullopt when absent, not a string or not base64url.
std::optional<std::string> DecodedMember(const nlohmann::json& jwk, const char* name) {
  const auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return std::nullopt;
  return Base64UrlDecode(it->get_ref<const std::string&>());
}

// Builds a public key of `type` ("RSA" or "EC") from `params`; nullptr when OpenSSL refuses it.
std::shared_ptr<EVP_PKEY> KeyFromParams(const char* type, OSSL_PARAM_BLD* builder) {
  const ParamsPtr params(OSSL_PARAM_BLD_to_param(builder), &OSSL_PARAM_free);
  const PkeyContextPtr context(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr),
                               &EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!params || !context || EVP_PKEY_fromdata_init(context.get()) != 1 ||
      EVP_PKEY_fromdata(context.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return std::shared_ptr<EVP_PKEY>(raw, &EVP_PKEY_free);
}

// An RSA key from "n" and "e" (unsigned big-endian, RFC 7518 §6.3.1); nullptr with `error` set.
std::shared_ptr<EVP_PKEY> RsaKey(const nlohmann::json& jwk, std::string& error) {
  const auto n = DecodedMember(jwk, "n");
  const auto e = DecodedMember(jwk, "e");
  if (!n || !e || n->empty() || e->empty()) {
    error = "an RSA key needs base64url \"n\" and \"e\"";
    return nullptr;
  }
  const auto bignum = [](const std::string& bytes) {
    return BignumPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                               static_cast<int>(bytes.size()), nullptr),
                     &BN_free);
  };
  const BignumPtr modulus = bignum(*n);
  const BignumPtr exponent = bignum(*e);
  const ParamBuildPtr builder(OSSL_PARAM_BLD_new(), &OSSL_PARAM_BLD_free);
  if (!modulus || !exponent || !builder ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) != 1) {
    error = "could not build the RSA key";
    return nullptr;
  }
  // Refused before import: a short modulus would make RS256 forgeable.
  if (BN_num_bits(modulus.get()) < kMinRsaBits || !BN_is_odd(exponent.get())) {
    error = "RSA keys must have at least 2048 bits and an odd exponent";
    return nullptr;
  }
  auto key = KeyFromParams("RSA", builder.get());
  if (!key) error = "OpenSSL refused the RSA key";
  return key;
}

// A P-256 key from "x" and "y" (32 bytes each, RFC 7518 §6.2.1); nullptr with `error` set.
std::shared_ptr<EVP_PKEY> EcKey(const nlohmann::json& jwk, std::string& error) {
  const auto x = DecodedMember(jwk, "x");
  const auto y = DecodedMember(jwk, "y");
  if (jwk.value("crv", "") != "P-256" || !x || !y || x->size() != kCoordinateBytes ||
      y->size() != kCoordinateBytes) {
    error = "an EC key needs \"crv\":\"P-256\" and 32-byte base64url \"x\" and \"y\"";
    return nullptr;
  }
  const std::string point = "\x04" + *x + *y;  // SEC 1 uncompressed form
  const ParamBuildPtr builder(OSSL_PARAM_BLD_new(), &OSSL_PARAM_BLD_free);
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    error = "could not build the EC key";
    return nullptr;
  }
  auto key = KeyFromParams("EC", builder.get());
  // Checked here rather than trusted to the import: a point off the curve must never be trusted.
  const PkeyContextPtr check(
      key ? EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr) : nullptr, &EVP_PKEY_CTX_free);
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    error = "the EC key is not a valid P-256 point";
    return nullptr;
  }
  return key;
}

// One JWK as a VerificationKey; nullopt with `error` set.
std::optional<VerificationKey> ParseJwk(const nlohmann::json& jwk, std::string& error) {
  if (!jwk.is_object() || !jwk.contains("kty") || !jwk["kty"].is_string()) {
    error = "each key must be an object with \"kty\"";
    return std::nullopt;
  }
  if (jwk.contains("kid") && !jwk["kid"].is_string()) {
    error = "\"kid\" must be a string";
    return std::nullopt;
  }
  if (jwk.contains("use") && jwk["use"] != "sig") {
    error = "\"use\" must be \"sig\"";
    return std::nullopt;
  }
  if (jwk.contains("d") || jwk.contains("p") || jwk.contains("q")) {
    error = "private key members do not belong in a JWKS";
    return std::nullopt;
  }
  VerificationKey key{.kid = jwk.value("kid", "")};
  const std::string kty = jwk["kty"].get<std::string>();
  if (kty == "RSA") {
    key.algorithm = JwsAlgorithm::kRs256;
    key.key = RsaKey(jwk, error);
  } else if (kty == "EC") {
    key.algorithm = JwsAlgorithm::kEs256;
    key.key = EcKey(jwk, error);
  } else {
    error = "unsupported kty \"" + kty + "\" (RSA or EC)";
    return std::nullopt;
  }
  if (!key.key) return std::nullopt;
  const std::string_view expected_alg = key.algorithm == JwsAlgorithm::kRs256 ? "RS256" : "ES256";
  if (jwk.contains("alg") && jwk["alg"] != expected_alg) {
    error = "\"alg\" must be " + std::string(expected_alg) + " for a " + kty + " key";
    return std::nullopt;
  }
  return key;
}

}  // namespace

std::string ParseJwks(std::string_view text, std::vector<VerificationKey>& keys) {
  const nlohmann::json jwks = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (jwks.is_discarded() || !jwks.is_object() || !jwks.contains("keys") ||
      !jwks["keys"].is_array() || jwks["keys"].empty()) {
    return "a JWKS must be a JSON object with a non-empty \"keys\" array";
  }
  std::vector<VerificationKey> parsed;
  for (const nlohmann::json& jwk : jwks["keys"]) {
    std::string error;
    auto key = ParseJwk(jwk, error);
    if (!key) return "key " + std::to_string(parsed.size()) + ": " + error;
    // A kid must pick exactly one key, or which key verifies would depend on order.
    for (const VerificationKey& other : parsed) {
      if (other.kid == key->kid) return "two keys have kid \"" + key->kid + "\"";
    }
    parsed.push_back(std::move(*key));
  }
  keys = std::move(parsed);
  return {};
}

}  // namespace dbproxy::fake
