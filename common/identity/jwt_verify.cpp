// VerifyJwt (jwt.hpp): algorithm, key, signature, then claims.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <utility>
#include <vector>

#include "common/core/duration.hpp"
#include "common/core/json_fields.hpp"
#include "common/identity/jws.hpp"
#include "common/identity/jwt.hpp"

namespace dbproxy {
namespace {

// Latest NumericDate accepted: 9999-12-31T23:59:59Z. Bounding dates keeps every sum with the
// skew far from overflow.
constexpr std::int64_t kMaxNumericDate = 253402300799;

JwtError Refuse(JwtErrc code, std::string reason) {
  return JwtError{.code = code, .reason = std::move(reason)};
}

// A value from the token, quoted for a reason when short and printable; otherwise nothing.
std::string Shown(std::string_view value) {
  if (value.size() > 64 || !IsPrintableText(value)) return "";
  return " \"" + std::string(value) + "\"";
}

std::optional<JwtError> CheckAlgorithm(std::string_view name, const JwtPolicy& policy,
                                       JwsAlg& alg) {
  const std::string shown = Shown(name.substr(0, 16));
  if (IsForbiddenJwsAlgName(name)) {
    return Refuse(JwtErrc::kAlgorithmRefused,
                  "algorithm" + shown + " is not allowed (none and HMAC are never accepted)");
  }
  const std::optional<JwsAlg> parsed = JwsAlgFromName(name);
  if (!parsed) return Refuse(JwtErrc::kAlgorithmRefused, "algorithm" + shown + " is not supported");
  // Only names JwsAlgFromName knows count, so a configured "HS256" can never enable HMAC.
  const bool allowed =
      std::any_of(policy.algorithms.begin(), policy.algorithms.end(),
                  [&](const std::string& a) { return JwsAlgFromName(a) == parsed; });
  if (!allowed) {
    return Refuse(JwtErrc::kAlgorithmRefused,
                  "algorithm" + shown + " is not allowed for this issuer");
  }
  alg = *parsed;
  return std::nullopt;
}

std::optional<JwtError> ChooseKey(std::string_view kid, JwsAlg alg, const Jwks& jwks,
                                  const Jwk*& chosen) {
  const std::string alg_name(JwsAlgName(alg));
  std::vector<const Jwk*> fitting;
  bool kid_known = false;
  for (const Jwk& key : jwks.keys) {
    if (!kid.empty() && key.kid != kid) continue;
    kid_known = true;
    if (key.kind == KeyKindFor(alg) && (!key.alg || *key.alg == alg)) fitting.push_back(&key);
  }
  if (kid.empty() && fitting.empty()) {
    return Refuse(JwtErrc::kUnknownKey, "token has no kid and no key fits " + alg_name);
  }
  if (kid.empty() && fitting.size() > 1) {
    return Refuse(JwtErrc::kKeyMismatch, "token has no kid and several keys fit " + alg_name);
  }
  const std::string key_name = "key \"" + DisplayKid(kid) + "\"";
  if (!kid_known) return Refuse(JwtErrc::kUnknownKey, "no " + key_name + " in the issuer's JWKS");
  if (fitting.size() != 1) {
    return Refuse(JwtErrc::kKeyMismatch, key_name + " does not fit algorithm " + alg_name);
  }
  chosen = fitting.front();
  return std::nullopt;
}

// claims[name] as a NumericDate: nullopt when absent. Fractions round up when `round_up`
// (nbf, iat) and down otherwise (exp), so they never extend validity.
Result<std::optional<std::int64_t>> ReadDate(const nlohmann::json& claims, const char* name,
                                             bool round_up) {
  const auto it = claims.find(name);
  if (it == claims.end()) return std::optional<std::int64_t>();
  double value = -1;
  if (it->is_number_unsigned()) {
    value = it->get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxNumericDate)
                ? -1
                : static_cast<double>(it->get<std::uint64_t>());
  } else if (it->is_number()) {
    value = round_up ? std::ceil(it->get<double>()) : std::floor(it->get<double>());
  }
  if (!std::isfinite(value) || value < 0 || value > static_cast<double>(kMaxNumericDate)) {
    return MakeError(Errc::kInvalidRequest, std::string(name) + " is not a valid NumericDate");
  }
  return std::optional<std::int64_t>(static_cast<std::int64_t>(value));
}

// The policy audience the token's aud names; kWrongAudience or kMalformed otherwise.
JwtVerification MatchAudience(const nlohmann::json& claims, const JwtPolicy& policy,
                              VerifiedJwt verified) {
  const auto aud = claims.find("aud");
  if (aud == claims.end()) return Refuse(JwtErrc::kWrongAudience, "token has no aud");
  std::vector<std::string> audiences;
  if (aud->is_string()) audiences.push_back(aud->get<std::string>());
  if (aud->is_array()) {
    for (const nlohmann::json& entry : *aud) {
      if (!entry.is_string()) return Refuse(JwtErrc::kMalformed, "aud has a non-string entry");
      audiences.push_back(entry.get<std::string>());
    }
  }
  if (!aud->is_string() && !aud->is_array()) {
    return Refuse(JwtErrc::kMalformed, "aud is neither a string nor an array");
  }
  for (const std::string& wanted : policy.audiences) {
    if (!wanted.empty() &&
        std::find(audiences.begin(), audiences.end(), wanted) != audiences.end()) {
      verified.audience = wanted;
      return verified;
    }
  }
  return Refuse(JwtErrc::kWrongAudience, "audience mismatch");
}

JwtVerification CheckClaims(const nlohmann::json& claims, const JwtPolicy& policy,
                            std::int64_t now) {
  VerifiedJwt verified;
  const auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string()) {
    return Refuse(JwtErrc::kWrongIssuer, "token has no string iss");
  }
  verified.issuer = iss->get<std::string>();
  if (policy.issuer.empty() || verified.issuer != policy.issuer) {
    return Refuse(JwtErrc::kWrongIssuer,
                  "issuer" + Shown(verified.issuer) + " is not the configured issuer");
  }
  if (const auto sub = claims.find("sub"); sub != claims.end()) {
    if (!sub->is_string()) return Refuse(JwtErrc::kMalformed, "sub is not a string");
    verified.subject = sub->get<std::string>();
  }
  const std::int64_t skew =
      std::clamp<std::int64_t>(policy.clock_skew_seconds, 0, kMaxClockSkewSeconds);
  const Result<std::optional<std::int64_t>> exp = ReadDate(claims, "exp", /*round_up=*/false);
  const Result<std::optional<std::int64_t>> nbf = ReadDate(claims, "nbf", /*round_up=*/true);
  const Result<std::optional<std::int64_t>> iat = ReadDate(claims, "iat", /*round_up=*/true);
  for (const auto* date : {&exp, &nbf, &iat}) {
    if (!*date) return Refuse(JwtErrc::kMalformed, date->error().message);
  }
  if (!*exp) return Refuse(JwtErrc::kMalformed, "token has no exp");
  if (now >= **exp + skew) return Refuse(JwtErrc::kExpired, "token expired at " + FormatUtc(**exp));
  if (*nbf && now < **nbf - skew) {
    return Refuse(JwtErrc::kNotYetValid, "token is not valid before " + FormatUtc(**nbf));
  }
  if (*iat && **iat - skew > now) {  // dates and skew are bounded: no overflow, whatever now
    return Refuse(JwtErrc::kIssuedInFuture,
                  "token issued in the future (" + FormatUtc(**iat) + ")");
  }
  verified.expires_at = **exp;
  verified.claims = claims;
  return MatchAudience(claims, policy, std::move(verified));
}

}  // namespace

JwtVerification VerifyJwt(const ParsedJwt& token, const Jwks& jwks, const JwtPolicy& policy,
                          std::int64_t now_unix) {
  JwsAlg alg = JwsAlg::kRs256;
  if (std::optional<JwtError> refused = CheckAlgorithm(token.header.alg, policy, alg)) {
    return *std::move(refused);
  }
  const Jwk* key = nullptr;
  if (std::optional<JwtError> refused = ChooseKey(token.header.kid, alg, jwks, key)) {
    return *std::move(refused);
  }
  if (!JwsVerify(alg, key->key.get(), token.signing_input, token.signature)) {
    return Refuse(JwtErrc::kBadSignature, "signature invalid");
  }
  return CheckClaims(token.claims, policy, now_unix);
}

}  // namespace dbproxy
