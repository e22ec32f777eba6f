#include "common/identity/jwks.hpp"

#include <array>
#include <memory>
#include <utility>

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "common/core/json_fields.hpp"
#include "common/identity/base64url.hpp"

namespace dbproxy {
namespace {

struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* bld) const noexcept { OSSL_PARAM_BLD_free(bld); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* params) const noexcept { OSSL_PARAM_free(params); }
};
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, ParamFree>;

constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;

Error Reject(std::string reason) {
  return MakeError(Errc::kInvalidRequest, std::move(reason));
}

// A short member value quoted for a reason, or nothing when it is not fit for a log line.
std::string Quoted(std::string_view value) {
  if (value.size() > 32 || !IsPrintableText(value)) return "";
  return " \"" + std::string(value) + "\"";
}

const std::string* StringMember(const nlohmann::json& jwk, const char* name) {
  const auto it = jwk.find(name);
  return it != jwk.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

// The bytes of base64url member `name`. Error reason: "<name> is missing or not base64url".
Result<std::string> Bytes(const nlohmann::json& jwk, const char* name) {
  if (const std::string* text = StringMember(jwk, name); text != nullptr) {
    Result<std::string> bytes = Base64UrlDecode(*text);
    if (bytes) return bytes;
  }
  return Reject(std::string(name) + " is missing or not base64url");
}

BignumPtr ToBignum(std::string_view bytes) {
  return BignumPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                             static_cast<int>(bytes.size()), nullptr));
}

EvpPkeyPtr FromData(const char* type, OSSL_PARAM* params) {
  const EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return nullptr;
  }
  return EvpPkeyPtr(key);
}

Result<EvpPkeyPtr> RsaKey(const nlohmann::json& jwk) {
  Result<std::string> n_bytes = Bytes(jwk, "n");
  if (!n_bytes) return std::move(n_bytes).error();
  Result<std::string> e_bytes = Bytes(jwk, "e");
  if (!e_bytes) return std::move(e_bytes).error();
  // Size first, so a huge modulus costs no arithmetic.
  if (n_bytes->size() > kMaxRsaBits / 8 + 1 || e_bytes->size() > 8) {
    return Reject("RSA modulus or exponent is too long");
  }
  const BignumPtr n = ToBignum(*n_bytes);
  const BignumPtr e = ToBignum(*e_bytes);
  if (!n || !e) return Reject("RSA key could not be read");
  const int bits = BN_num_bits(n.get());
  if (bits < kMinRsaBits || bits > kMaxRsaBits || !BN_is_odd(n.get())) {
    return Reject("RSA modulus has " + std::to_string(bits) +
                  " bits (2048 to 8192, odd, accepted)");
  }
  if (!BN_is_odd(e.get()) || BN_num_bits(e.get()) < 2 || BN_num_bits(e.get()) > 32) {
    return Reject("RSA exponent must be odd and 3 <= e < 2^32");
  }
  const ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return Reject("RSA key could not be read");
  }
  const ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyPtr key = params ? FromData("RSA", params.get()) : nullptr;
  if (!key) return Reject("RSA key could not be read");
  return key;
}

Result<EvpPkeyPtr> EcKey(const nlohmann::json& jwk) {
  const std::string* crv = StringMember(jwk, "crv");
  if (crv == nullptr) return Reject("crv is missing or not a string");
  std::size_t size = 0;
  if (*crv == "P-256") size = 32;
  if (*crv == "P-384") size = 48;
  if (size == 0) return Reject("EC curve" + Quoted(*crv) + " is not supported (P-256, P-384)");
  Result<std::string> x = Bytes(jwk, "x");
  if (!x) return std::move(x).error();
  Result<std::string> y = Bytes(jwk, "y");
  if (!y) return std::move(y).error();
  if (x->size() != size || y->size() != size) {
    return Reject("x and y must be " + std::to_string(size) + " bytes for " + *crv);
  }
  std::string point = "\x04" + *x + *y;  // SEC 1 uncompressed point
  std::array<OSSL_PARAM, 3> params = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(crv->c_str()),
                                       0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  EvpPkeyPtr key = FromData("EC", params.data());
  if (!key) return Reject("EC point is not on the curve");
  // The full check (on the curve, not the point at infinity, of the group's order), in case
  // the import alone is ever less strict.
  const EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return Reject("EC point is not on the curve");
  }
  return key;
}

Result<EvpPkeyPtr> OkpKey(const nlohmann::json& jwk) {
  const std::string* crv = StringMember(jwk, "crv");
  if (crv == nullptr) return Reject("crv is missing or not a string");
  if (*crv != "Ed25519") return Reject("OKP curve" + Quoted(*crv) + " is not supported (Ed25519)");
  Result<std::string> x = Bytes(jwk, "x");
  if (!x) return std::move(x).error();
  if (x->size() != 32) return Reject("x must be 32 bytes for Ed25519");
  EvpPkeyPtr key(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size()));
  if (!key) return Reject("Ed25519 key could not be read");
  return key;
}

// use, key_ops and alg: whether this key is meant to verify signatures, and with what.
Result<std::optional<JwsAlg>> CheckPurpose(const nlohmann::json& jwk) {
  const auto use = jwk.find("use");
  if (use != jwk.end() && (!use->is_string() || *use != "sig")) {
    return Reject("use is not \"sig\"");
  }
  const auto ops = jwk.find("key_ops");
  if (ops != jwk.end()) {
    bool verify = false;
    if (ops->is_array()) {
      for (const auto& op : *ops)
        verify = verify || (op.is_string() && op == "verify");
    }
    if (!verify) return Reject("key_ops does not include \"verify\"");
  }
  const auto alg = jwk.find("alg");
  if (alg == jwk.end()) return std::optional<JwsAlg>();
  const std::optional<JwsAlg> parsed =
      alg->is_string() ? JwsAlgFromName(alg->get_ref<const std::string&>()) : std::nullopt;
  if (!parsed) {
    const std::string name = alg->is_string() ? Quoted(alg->get_ref<const std::string&>()) : "";
    return Reject("alg" + name + " is not an accepted signature algorithm");
  }
  return parsed;
}

}  // namespace

Result<Jwk> ParseJwk(const nlohmann::json& jwk) {
  const ErrorQueueGuard clear_errors;
  if (!jwk.is_object()) return Reject("not a JSON object");
  Jwk parsed;
  if (const auto kid = jwk.find("kid"); kid != jwk.end()) {
    if (!kid->is_string()) return Reject("kid is not a string");
    parsed.kid = kid->get<std::string>();
    if (parsed.kid.size() > kMaxKidBytes) return Reject("kid is longer than 256 bytes");
  }
  Result<std::optional<JwsAlg>> alg = CheckPurpose(jwk);
  if (!alg) return std::move(alg).error();
  parsed.alg = *alg;

  const std::string* kty = StringMember(jwk, "kty");
  if (kty == nullptr) return Reject("kty is missing or not a string");
  Result<EvpPkeyPtr> key = Reject("kty" + Quoted(*kty) + " is not supported (RSA, EC, OKP)");
  if (*kty == "RSA") key = RsaKey(jwk);
  if (*kty == "EC") key = EcKey(jwk);
  if (*kty == "OKP") key = OkpKey(jwk);
  if (!key) return std::move(key).error();
  parsed.key = std::move(*key);
  const std::optional<KeyKind> kind = KeyKindOf(parsed.key.get());
  if (!kind) return Reject("key could not be read");
  parsed.kind = *kind;
  if (parsed.alg && KeyKindFor(*parsed.alg) != parsed.kind) {
    return Reject("alg " + std::string(JwsAlgName(*parsed.alg)) + " does not fit an " +
                  std::string(KeyKindName(parsed.kind)) + " key");
  }
  return parsed;
}

Result<Jwks> ParseJwks(std::string_view document) {
  const auto fail = [](const std::string& what) {
    return MakeError(Errc::kUpstreamError, "JWKS: " + what);
  };
  if (document.size() > kMaxJwksBytes) return fail("larger than 256 KiB");
  Result<nlohmann::json> doc =
      ParseJsonBody(document, JsonContext{.code = Errc::kUpstreamError, .where = "JWKS"});
  if (!doc) return std::move(doc).error();
  const auto keys = doc->find("keys");
  if (keys == doc->end() || !keys->is_array()) return fail("\"keys\" is missing or not an array");
  if (keys->size() > kMaxJwksKeys) return fail("more than 100 keys");

  Jwks jwks;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const nlohmann::json& entry = (*keys)[i];
    const std::string* kid = entry.is_object() ? StringMember(entry, "kid") : nullptr;
    const auto skip = [&](std::string reason) {
      jwks.skipped.push_back(
          {.index = i, .kid = kid ? DisplayKid(*kid) : "", .reason = std::move(reason)});
    };
    Result<Jwk> key = ParseJwk(entry);
    if (!key) {
      skip(key.error().message);
      continue;
    }
    bool repeated = false;
    for (const Jwk& earlier : jwks.keys) {
      repeated = repeated || (earlier.kid == key->kid && earlier.kind == key->kind);
    }
    if (repeated) {
      skip("an earlier " + std::string(KeyKindName(key->kind)) + " key has the same kid");
      continue;
    }
    jwks.keys.push_back(std::move(*key));
  }
  return jwks;
}

namespace {

// `name` of `key` as a big-endian byte string, left-padded to `size` bytes (0: minimal length).
std::string BignumParam(EVP_PKEY* key, const char* name, int size) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return {};
  const BignumPtr value(raw);
  const int length = size > 0 ? size : BN_num_bytes(value.get());
  std::string bytes(static_cast<std::size_t>(length), '\0');
  if (BN_bn2binpad(value.get(), reinterpret_cast<unsigned char*>(bytes.data()), length) < 0) {
    return {};
  }
  return bytes;
}

}  // namespace

Result<nlohmann::json> PublicJwk(EVP_PKEY* key) {
  const ErrorQueueGuard clear_errors;
  const std::optional<KeyKind> kind = KeyKindOf(key);
  const Error unsupported = Reject("only RSA, EC P-256, EC P-384 and Ed25519 keys have a JWK");
  if (!kind) return unsupported;
  if (*kind == KeyKind::kRsa) {
    const std::string n = BignumParam(key, OSSL_PKEY_PARAM_RSA_N, 0);
    const std::string e = BignumParam(key, OSSL_PKEY_PARAM_RSA_E, 0);
    if (n.empty() || e.empty()) return unsupported;
    return nlohmann::json{{"kty", "RSA"}, {"n", Base64UrlEncode(n)}, {"e", Base64UrlEncode(e)}};
  }
  if (*kind == KeyKind::kEd25519) {
    std::array<unsigned char, 32> x{};
    std::size_t size = x.size();
    if (EVP_PKEY_get_raw_public_key(key, x.data(), &size) != 1 || size != x.size()) {
      return unsupported;
    }
    return nlohmann::json{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", Base64UrlEncode(x)}};
  }
  const bool p256 = *kind == KeyKind::kEcP256;
  const int size = p256 ? 32 : 48;
  const std::string x = BignumParam(key, OSSL_PKEY_PARAM_EC_PUB_X, size);
  const std::string y = BignumParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, size);
  if (x.empty() || y.empty()) return unsupported;
  return nlohmann::json{{"kty", "EC"},
                        {"crv", p256 ? "P-256" : "P-384"},
                        {"x", Base64UrlEncode(x)},
                        {"y", Base64UrlEncode(y)}};
}

Result<std::string> JwkThumbprint(EVP_PKEY* key) {
  Result<nlohmann::json> jwk = PublicJwk(key);
  if (!jwk) return std::move(jwk).error();
  const std::string canonical = jwk->dump();
  std::array<unsigned char, 32> digest{};
  unsigned int size = 0;
  const bool hashed = EVP_Digest(canonical.data(), canonical.size(), digest.data(), &size,
                                 EVP_sha256(), nullptr) == 1;
  if (!hashed || size != digest.size()) {
    ERR_clear_error();
    return MakeError(Errc::kInternal, "SHA-256 failed");
  }
  return Base64UrlEncode(digest);
}

std::string DisplayKid(std::string_view kid) {
  if (kid.size() > 64 || !IsPrintableText(kid)) return "(unprintable kid)";
  return std::string(kid);
}

}  // namespace dbproxy
