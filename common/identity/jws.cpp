#include "common/identity/jws.hpp"

#include <array>
#include <cctype>
#include <cstddef>
#include <memory>
#include <utility>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>

namespace dbproxy {
namespace {

struct EcdsaSigFree {
  void operator()(ECDSA_SIG* sig) const noexcept { ECDSA_SIG_free(sig); }
};
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;

constexpr std::array<std::pair<std::string_view, JwsAlg>, 9> kAlgNames = {{
    {"RS256", JwsAlg::kRs256},
    {"RS384", JwsAlg::kRs384},
    {"RS512", JwsAlg::kRs512},
    {"PS256", JwsAlg::kPs256},
    {"PS384", JwsAlg::kPs384},
    {"PS512", JwsAlg::kPs512},
    {"ES256", JwsAlg::kEs256},
    {"ES384", JwsAlg::kEs384},
    {"EdDSA", JwsAlg::kEdDsa},
}};

// The hash of `alg`; nullptr for EdDSA, which hashes inside the signature scheme.
const EVP_MD* Digest(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::kRs256:
    case JwsAlg::kPs256:
    case JwsAlg::kEs256:
      return EVP_sha256();
    case JwsAlg::kRs384:
    case JwsAlg::kPs384:
    case JwsAlg::kEs384:
      return EVP_sha384();
    case JwsAlg::kRs512:
    case JwsAlg::kPs512:
      return EVP_sha512();
    case JwsAlg::kEdDsa:
      return nullptr;
  }
  return nullptr;
}

bool IsPss(JwsAlg alg) {
  return alg == JwsAlg::kPs256 || alg == JwsAlg::kPs384 || alg == JwsAlg::kPs512;
}

// Bytes of r and of s in the raw ECDSA signature form; 0 for other algorithms.
std::size_t EcCoordinateBytes(JwsAlg alg) {
  if (alg == JwsAlg::kEs256) return 32;
  if (alg == JwsAlg::kEs384) return 48;
  return 0;
}

// Sets up `ctx` for signing or verifying with `alg`; PSS takes its parameters from RFC 7518
// section 3.5 (MGF1 with the message hash, salt as long as the hash), refusing any other salt.
bool InitDigestContext(EVP_MD_CTX* ctx, JwsAlg alg, EVP_PKEY* key, bool sign) {
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  const int ok = sign ? EVP_DigestSignInit(ctx, &pctx, Digest(alg), nullptr, key)
                      : EVP_DigestVerifyInit(ctx, &pctx, Digest(alg), nullptr, key);
  if (ok != 1) return false;
  if (!IsPss(alg)) return true;
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, Digest(alg)) == 1;
}

// Raw r||s (each `half` bytes, big-endian) to the DER ECDSA-Sig-Value OpenSSL verifies.
std::string RawEcdsaToDer(std::string_view raw, std::size_t half) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BignumPtr r(BN_bin2bn(bytes, static_cast<int>(half), nullptr));
  BignumPtr s(BN_bin2bn(bytes + half, static_cast<int>(half), nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return {};
  (void)r.release();  // now owned by sig
  (void)s.release();
  const int size = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (size <= 0) return {};
  std::string der(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != size) return {};
  return der;
}

// DER ECDSA-Sig-Value to raw r||s, each left-padded to `half` bytes.
std::string DerEcdsaToRaw(std::string_view der, std::size_t half) {
  const auto* in = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der.size())));
  if (!sig) return {};
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(2 * half, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, static_cast<int>(half)) < 0 ||
      BN_bn2binpad(s, out + half, static_cast<int>(half)) < 0) {
    return {};
  }
  return raw;
}

}  // namespace

std::optional<JwsAlg> JwsAlgFromName(std::string_view name) {
  for (const auto& [text, alg] : kAlgNames) {
    if (text == name) return alg;
  }
  return std::nullopt;
}

std::string_view JwsAlgName(JwsAlg alg) {
  for (const auto& [text, value] : kAlgNames) {
    if (value == alg) return text;
  }
  return "?";
}

bool IsForbiddenJwsAlgName(std::string_view name) {
  const auto upper = [](char c) {
    return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  };
  if (name.size() == 4 && upper(name[0]) == 'N' && upper(name[1]) == 'O' && upper(name[2]) == 'N' &&
      upper(name[3]) == 'E') {
    return true;
  }
  return name.size() >= 2 && upper(name[0]) == 'H' && upper(name[1]) == 'S';
}

KeyKind KeyKindFor(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::kEs256:
      return KeyKind::kEcP256;
    case JwsAlg::kEs384:
      return KeyKind::kEcP384;
    case JwsAlg::kEdDsa:
      return KeyKind::kEd25519;
    default:
      return KeyKind::kRsa;
  }
}

std::string_view KeyKindName(KeyKind kind) {
  switch (kind) {
    case KeyKind::kRsa:
      return "RSA";
    case KeyKind::kEcP256:
      return "EC P-256";
    case KeyKind::kEcP384:
      return "EC P-384";
    case KeyKind::kEd25519:
      return "Ed25519";
  }
  return "?";
}

std::optional<KeyKind> KeyKindOf(EVP_PKEY* key) {
  if (key == nullptr) return std::nullopt;
  if (EVP_PKEY_is_a(key, "RSA") == 1) return KeyKind::kRsa;
  if (EVP_PKEY_is_a(key, "ED25519") == 1) return KeyKind::kEd25519;
  if (EVP_PKEY_is_a(key, "EC") != 1) return std::nullopt;
  std::array<char, 32> group{};
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(),
                                     &length) != 1) {
    return std::nullopt;
  }
  const std::string_view name(group.data(), length);
  if (name == "prime256v1" || name == "P-256") return KeyKind::kEcP256;
  if (name == "secp384r1" || name == "P-384") return KeyKind::kEcP384;
  return std::nullopt;
}

bool JwsVerify(JwsAlg alg, EVP_PKEY* key, std::string_view signing_input,
               std::string_view signature) {
  const ErrorQueueGuard clear_errors;
  if (KeyKindOf(key) != KeyKindFor(alg)) return false;
  std::string der;
  if (const std::size_t half = EcCoordinateBytes(alg); half != 0) {
    if (signature.size() != 2 * half) return false;
    der = RawEcdsaToDer(signature, half);
    if (der.empty()) return false;
    signature = der;
  } else if (alg == JwsAlg::kEdDsa) {
    if (signature.size() != 64) return false;
  } else if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key))) {
    return false;
  }
  const EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || !InitDigestContext(ctx.get(), alg, key, /*sign=*/false)) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()),
                          signing_input.size()) == 1;
}

Result<std::string> JwsSign(JwsAlg alg, EVP_PKEY* key, std::string_view signing_input) {
  const ErrorQueueGuard clear_errors;
  if (KeyKindOf(key) != KeyKindFor(alg)) {
    const std::string needed(KeyKindName(KeyKindFor(alg)));
    return MakeError(Errc::kInvalidRequest,
                     std::string(JwsAlgName(alg)) + " signatures need an " + needed + " key");
  }
  const Error failed = MakeError(Errc::kInternal, "signing failed");
  const EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || !InitDigestContext(ctx.get(), alg, key, /*sign=*/true)) {
    return MakeError(Errc::kInvalidRequest, "the key cannot sign (no private key?)");
  }
  const auto* input = reinterpret_cast<const unsigned char*>(signing_input.data());
  std::size_t size = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &size, input, signing_input.size()) != 1) return failed;
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, input,
                     signing_input.size()) != 1) {
    return failed;
  }
  signature.resize(size);
  if (const std::size_t half = EcCoordinateBytes(alg); half != 0) {
    signature = DerEcdsaToRaw(signature, half);
    if (signature.empty()) return failed;
  }
  return signature;
}

}  // namespace dbproxy
