// libFuzzer target for the parsers of identity-provider input: JWTs (ParseJwt, then VerifyJwt
// against a fixed JWKS at a fixed time, then ClaimAttributes), JWKS documents (ParseJwks) and
// base64url. The JWKS keys are derived from fixed seeds in make_seeds.py, whose signed tokens
// are seeds here, so mutations start from tokens that verify.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/core/json_fields.hpp"
#include "common/identity/base64url.hpp"
#include "common/identity/jwks.hpp"
#include "common/identity/jwt.hpp"

namespace {

constexpr std::int64_t kNow = 1800000000;

// "rsa" is the RFC 7517 appendix A.1 key (no private key is used); the others match
// jwt_fuzz_keys() in make_seeds.py.
constexpr std::string_view kJwks =
    R"({"keys":[)"
    R"({"kty":"EC","crv":"P-256","kid":"p256",)"
    R"("x":"RGv0m9_VYgvKqNadtzyWZHiXqJ8P4Zjd_xe4YA9O0d4",)"
    R"("y":"N3EeyCvWWnqR2AZ5Jp_VNTrL-lP6mpX4xEsBdQo0UlE"},)"
    R"({"kty":"EC","crv":"P-384","kid":"p384",)"
    R"("x":"5T47baIpYoZXKrn6IVyCMHcPmrbsN6LFDmDXmV14x0eL7ML3NKXWZoXzLWPDyExR",)"
    R"("y":"Zq_-iYmA7tOdLW0_oIimDgqlCmYGGkz-8vsH8DWnui2uXoS0wLFw5w50RNyk48lb"},)"
    R"({"kty":"OKP","crv":"Ed25519","kid":"ed","x":"_RckOFqgx1tk-3jNYC-h2ZH96_drE8WO1wLqyDXp9hg"},)"
    R"({"kty":"RSA","kid":"rsa","e":"AQAB","n":")"
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
    "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
    "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    R"("}]})";

const dbproxy::JwtPolicy kPolicy{
    .issuer = "https://idp.example.com",
    .audiences = {"dbproxy"},
    .algorithms = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
                   "HS256", "none"},  // the last two must have no effect
    .clock_skew_seconds = 60};

const dbproxy::Jwks& FixedJwks() {
  static const dbproxy::Jwks* const jwks = [] {
    dbproxy::Result<dbproxy::Jwks> parsed = dbproxy::ParseJwks(kJwks);
    if (!parsed || parsed->keys.size() != 4) std::abort();
    return new dbproxy::Jwks(std::move(*parsed));
  }();
  return *jwks;
}

void FuzzToken(std::string_view text) {
  dbproxy::Result<dbproxy::ParsedJwt> parsed = dbproxy::ParseJwt(text);
  if (!parsed) return;
  if (text.size() > dbproxy::kMaxJwtBytes) std::abort();
  const dbproxy::JwtVerification verified = dbproxy::VerifyJwt(*parsed, FixedJwks(), kPolicy, kNow);
  if (!verified) {
    // Reasons go to logs and clients: one printable line, never empty.
    const std::string& reason = verified.error().reason;
    if (reason.empty() || reason.size() > 512 || !dbproxy::IsPrintableText(reason)) std::abort();
    return;
  }
  // What verified must hold what was checked.
  if (verified->issuer != kPolicy.issuer || verified->audience != "dbproxy") std::abort();
  if (kNow >= verified->expires_at + kPolicy.clock_skew_seconds) std::abort();
  if (parsed->header.alg == "HS256" || parsed->header.alg == "none") std::abort();
  const auto attributes = dbproxy::ClaimAttributes(*verified, {"groups", "email", "exp"});
  const auto iss = attributes.find("jwt.iss");
  if (iss == attributes.end() || std::get<std::string>(iss->second) != kPolicy.issuer) {
    std::abort();
  }
}

void FuzzJwks(std::string_view text) {
  dbproxy::Result<dbproxy::Jwks> jwks = dbproxy::ParseJwks(text);
  if (!jwks) return;
  if (jwks->keys.size() + jwks->skipped.size() > dbproxy::kMaxJwksKeys) std::abort();
  // A parsed key exports to a JWK that parses back to the same key.
  for (const dbproxy::Jwk& key : jwks->keys) {
    const dbproxy::Result<nlohmann::json> jwk = dbproxy::PublicJwk(key.key.get());
    if (!jwk) std::abort();
    const dbproxy::Result<dbproxy::Jwk> again = dbproxy::ParseJwk(*jwk);
    if (!again || again->kind != key.kind) std::abort();
    if (*dbproxy::JwkThumbprint(again->key.get()) != *dbproxy::JwkThumbprint(key.key.get())) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  FuzzToken(text);
  FuzzJwks(text);
  // Canonical base64url: what decodes re-encodes to the same text.
  const dbproxy::Result<std::string> decoded = dbproxy::Base64UrlDecode(text);
  if (decoded && dbproxy::Base64UrlEncode(*decoded) != text) std::abort();
  return 0;
}
