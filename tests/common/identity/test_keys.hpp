// Test-only keys and a JWS signer written directly against OpenSSL, independent of
// common/identity/jws.cpp, so a bug there cannot sign and verify its own mistakes.
#pragma once

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>

#include "common/identity/base64url.hpp"
#include "common/identity/jwks.hpp"
#include "common/identity/openssl_ptr.hpp"

namespace dbproxy::jwt_testing {

// One key of each kind, generated once per test binary (RSA generation is slow under ASan).
struct TestKeys {
  EvpPkeyPtr rsa{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})};
  EvpPkeyPtr rsa2{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})};
  EvpPkeyPtr p256{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  EvpPkeyPtr p384{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384")};
  EvpPkeyPtr ed25519{EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")};
};

inline const TestKeys& Keys() {
  static const TestKeys* const keys = new TestKeys();  // never freed: used until exit
  return *keys;
}

// The raw JWS signature by `key` over `input` for algorithm name `alg`.
inline std::string TestSign(std::string_view alg, EVP_PKEY* key, std::string_view input) {
  const EVP_MD* md = nullptr;
  if (alg.substr(2) == "256") md = EVP_sha256();
  if (alg.substr(2) == "384") md = EVP_sha384();
  if (alg.substr(2) == "512") md = EVP_sha512();
  const EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key) != 1) {
    throw std::runtime_error("TestSign: init");
  }
  if (alg.starts_with("PS")) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, EVP_MD_get_size(md));
    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md);
  }
  std::size_t size = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  EVP_DigestSign(ctx.get(), nullptr, &size, in, input.size());
  std::string sig(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size, in,
                     input.size()) != 1) {
    throw std::runtime_error("TestSign: sign");
  }
  sig.resize(size);
  if (!alg.starts_with("ES")) return sig;
  // DER ECDSA-Sig-Value -> r||s, each the curve's size.
  const int half = alg == "ES256" ? 32 : 48;
  const auto* der = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(sig.size()));
  std::string raw(2 * static_cast<std::size_t>(half), '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), out, half);
  BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), out + half, half);
  ECDSA_SIG_free(ecdsa);
  return raw;
}

inline std::string Segment(const nlohmann::json& value) {
  return Base64UrlEncode(value.dump());
}

// header.payload.signature, signed by `key` with `alg` (the header's alg is set to `alg`).
inline std::string MakeToken(nlohmann::json header, const nlohmann::json& claims,
                             std::string_view alg, EVP_PKEY* key) {
  header["alg"] = alg;
  const std::string input = Segment(header) + "." + Segment(claims);
  return input + "." + Base64UrlEncode(TestSign(alg, key, input));
}

// {"keys":[...]} with the public half of each key and its kid.
inline std::string JwksText(std::initializer_list<std::pair<std::string, EVP_PKEY*>> keys) {
  nlohmann::json doc = {{"keys", nlohmann::json::array()}};
  for (const auto& [kid, key] : keys) {
    nlohmann::json jwk = *PublicJwk(key);
    jwk["kid"] = kid;
    doc["keys"].push_back(jwk);
  }
  return doc.dump();
}

}  // namespace dbproxy::jwt_testing
