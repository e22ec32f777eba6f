#include "tests/fake_workspace/oauth/subject_token_check.hpp"

#include <algorithm>

namespace dbproxy::fake {
namespace {

constexpr std::int64_t kClockSkewSeconds = 60;

std::string AlgorithmName(JwsAlgorithm algorithm) {
  return algorithm == JwsAlgorithm::kRs256 ? "RS256" : "ES256";
}

// The key the header's "kid" names, or the only key when it names none; nullptr with `refusal`.
const VerificationKey* SelectKey(const nlohmann::json& header,
                                 std::span<const VerificationKey> keys, std::string& refusal) {
  if (keys.empty()) {
    refusal = "The issuer's keys are not available";
    return nullptr;
  }
  const auto kid = header.find("kid");
  if (kid == header.end()) {
    if (keys.size() == 1) return &keys.front();
    refusal = "Subject token has no kid and the issuer has several keys";
    return nullptr;
  }
  if (!kid->is_string()) {
    refusal = "Subject token kid is not a string";
    return nullptr;
  }
  for (const VerificationKey& key : keys) {
    if (key.kid == kid->get_ref<const std::string&>()) return &key;
  }
  refusal = "No key with kid '" + kid->get<std::string>() + "' for the issuer";
  return nullptr;
}

std::string CheckSignature(const DecodedJwt& jwt, std::span<const VerificationKey> keys) {
  const auto algorithm = AcceptedAlgorithm(jwt.header);
  if (!algorithm) {
    const auto alg = jwt.header.find("alg");
    return "Unsupported subject token algorithm " +
           (alg == jwt.header.end() ? std::string("(none given)") : alg->dump()) +
           "; use RS256 or ES256";
  }
  // RFC 7515 §4.1.11: extensions the verifier does not understand must fail the token.
  if (jwt.header.contains("crit")) return "Subject token header has unsupported crit extensions";
  std::string refusal;
  const VerificationKey* key = SelectKey(jwt.header, keys, refusal);
  if (key == nullptr) return refusal;
  if (key->algorithm != *algorithm) {
    return "Key '" + key->kid + "' is not an " + AlgorithmName(*algorithm) + " key";
  }
  if (!SignatureVerifies(jwt, *algorithm, *key)) return "Subject token signature is invalid";
  return {};
}

std::string CheckTimes(const nlohmann::json& claims, std::int64_t now) {
  const auto exp = claims.find("exp");
  if (exp == claims.end() || !exp->is_number()) return "Subject token has no numeric exp claim";
  if (exp->get<double>() <= static_cast<double>(now)) return "Subject token has expired";
  const double latest = static_cast<double>(now + kClockSkewSeconds);
  const auto nbf = claims.find("nbf");
  if (nbf != claims.end() && (!nbf->is_number() || nbf->get<double>() > latest)) {
    return "Subject token is not valid yet (nbf)";
  }
  const auto iat = claims.find("iat");
  if (iat != claims.end() && (!iat->is_number() || iat->get<double>() > latest)) {
    return "Subject token was issued in the future (iat)";
  }
  return {};
}

bool AudienceMatches(const nlohmann::json& claims, const std::vector<std::string>& audiences) {
  const auto aud = claims.find("aud");
  if (aud == claims.end()) return false;
  const auto accepted = [&audiences](const nlohmann::json& value) {
    return value.is_string() && std::find(audiences.begin(), audiences.end(),
                                          value.get_ref<const std::string&>()) != audiences.end();
  };
  return aud->is_array() ? std::any_of(aud->begin(), aud->end(), accepted) : accepted(*aud);
}

}  // namespace

std::string CheckSubjectToken(const DecodedJwt& jwt, const FederationPolicy& policy,
                              std::span<const VerificationKey> keys, std::int64_t now,
                              std::string& subject) {
  if (std::string refusal = CheckSignature(jwt, keys); !refusal.empty()) return refusal;
  if (std::string refusal = CheckTimes(jwt.claims, now); !refusal.empty()) return refusal;
  if (!AudienceMatches(jwt.claims, policy.audiences)) {
    return "Subject token audience does not match the federation policy";
  }
  const auto claim = jwt.claims.find(policy.subject_claim);
  if (claim == jwt.claims.end() || !claim->is_string() ||
      claim->get_ref<const std::string&>().empty()) {
    return "Subject token has no string '" + policy.subject_claim + "' claim";
  }
  const std::string& value = claim->get_ref<const std::string&>();
  if (policy.subject && value != *policy.subject) {
    return "Subject token subject '" + value + "' does not match the federation policy";
  }
  subject = value;
  return {};
}

}  // namespace dbproxy::fake
