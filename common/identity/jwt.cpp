// Token parsing, policy validation and claim attributes (jwt.hpp). VerifyJwt is in
// jwt_verify.cpp.
#include "common/identity/jwt.hpp"

#include <optional>
#include <utility>

#include "common/core/json_fields.hpp"
#include "common/identity/base64url.hpp"
#include "common/identity/jws.hpp"

namespace dbproxy {
namespace {

Error Malformed(const std::string& what) {
  return MakeError(Errc::kInvalidRequest, "malformed token: " + what);
}

// A segment that must be the base64url of a JSON object with no repeated key.
Result<nlohmann::json> DecodeObject(std::string_view segment, const char* what) {
  Result<std::string> json = Base64UrlDecode(segment);
  if (!json) return Malformed(std::string(what) + " is not base64url");
  if (json->empty()) return Malformed(std::string(what) + " is empty");
  return ParseJsonBody(*json, JsonContext{.code = Errc::kInvalidRequest,
                                          .where = "malformed token: " + std::string(what)});
}

// header[name] into `out` when present; false when present and not a string.
bool OptionalString(const nlohmann::json& header, const char* name, std::string& out) {
  const auto it = header.find(name);
  if (it == header.end()) return true;
  if (!it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

std::optional<std::string> ScalarText(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean() || value.is_number()) return value.dump();
  return std::nullopt;
}

std::optional<ClaimValue> ToClaimValue(const nlohmann::json& value) {
  if (std::optional<std::string> text = ScalarText(value)) return ClaimValue(std::move(*text));
  if (!value.is_array()) return std::nullopt;
  std::vector<std::string> items;
  for (const nlohmann::json& item : value) {
    std::optional<std::string> text = ScalarText(item);
    if (!text) return std::nullopt;
    items.push_back(std::move(*text));
  }
  return ClaimValue(std::move(items));
}

Error BadPolicy(const std::string& what) {
  return MakeError(Errc::kInvalidRequest, what);
}

Status ValidateAlgorithms(const std::vector<std::string>& algorithms) {
  if (algorithms.empty()) return BadPolicy("algorithms must not be empty");
  for (const std::string& name : algorithms) {
    const std::string shown = name.size() <= 32 && IsPrintableText(name) ? name : "(unprintable)";
    if (IsForbiddenJwsAlgName(name)) {
      return BadPolicy("algorithm \"" + shown +
                       "\" is never accepted (none and HMAC algorithms are refused)");
    }
    if (!JwsAlgFromName(name)) {
      return BadPolicy("algorithm \"" + shown +
                       "\" is not supported (RS256, RS384, RS512, PS256, PS384, PS512, ES256, "
                       "ES384, EdDSA)");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<ParsedJwt> ParseJwt(std::string_view compact) {
  if (compact.size() > kMaxJwtBytes) return Malformed("longer than 16384 bytes");
  const std::size_t first = compact.find('.');
  const std::size_t second = first == std::string_view::npos ? first : compact.find('.', first + 1);
  if (second == std::string_view::npos || compact.find('.', second + 1) != std::string_view::npos) {
    return Malformed("expected three segments separated by '.'");
  }
  Result<nlohmann::json> header = DecodeObject(compact.substr(0, first), "header");
  if (!header) return std::move(header).error();
  Result<nlohmann::json> claims =
      DecodeObject(compact.substr(first + 1, second - first - 1), "payload");
  if (!claims) return std::move(claims).error();
  Result<std::string> signature = Base64UrlDecode(compact.substr(second + 1));
  if (!signature) return Malformed("signature is not base64url");

  ParsedJwt token;
  const auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) return Malformed("header has no string alg");
  token.header.alg = alg->get<std::string>();
  if (!OptionalString(*header, "kid", token.header.kid)) return Malformed("kid is not a string");
  if (!OptionalString(*header, "typ", token.header.typ)) return Malformed("typ is not a string");
  if (header->contains("crit")) return Malformed("header has crit (no extension is supported)");
  token.claims = std::move(*claims);
  token.signing_input = std::string(compact.substr(0, second));
  token.signature = std::move(*signature);
  return token;
}

Status ValidateJwtPolicy(const JwtPolicy& policy) {
  if (policy.issuer.empty() || policy.issuer.size() > 1024 || !IsPrintableText(policy.issuer)) {
    return BadPolicy("issuer must be non-empty printable text of at most 1024 bytes");
  }
  if (policy.audiences.empty()) return BadPolicy("audiences must not be empty");
  for (const std::string& audience : policy.audiences) {
    if (audience.empty()) return BadPolicy("an audience is empty");
  }
  if (Status algorithms = ValidateAlgorithms(policy.algorithms); !algorithms) return algorithms;
  if (policy.clock_skew_seconds < 0 || policy.clock_skew_seconds > kMaxClockSkewSeconds) {
    return BadPolicy("clock_skew_seconds must be between 0 and 600");
  }
  return Status::Ok();
}

std::map<std::string, ClaimValue> ClaimAttributes(const VerifiedJwt& token,
                                                  const std::vector<std::string>& claim_names) {
  std::map<std::string, ClaimValue> attributes;
  const auto add = [&](const std::string& name) {
    const auto claim = token.claims.find(name);
    if (claim == token.claims.end()) return;
    if (std::optional<ClaimValue> value = ToClaimValue(*claim)) {
      attributes.insert_or_assign("jwt." + name, std::move(*value));
    }
  };
  for (const char* name : {"iss", "sub", "aud"})
    add(name);
  for (const std::string& name : claim_names)
    add(name);
  return attributes;
}

std::string_view BearerCredential(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = authorization[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) return {};
  }
  std::string_view rest = authorization.substr(kScheme.size());
  if (rest.front() != ' ' && rest.front() != '\t') return {};
  const std::size_t start = rest.find_first_not_of(" \t");
  if (start == std::string_view::npos) return {};
  rest.remove_prefix(start);
  const std::size_t end = rest.find_last_not_of(" \t");
  return rest.substr(0, end + 1);
}

std::optional<std::string> UnverifiedIssuer(std::string_view token) {
  Result<ParsedJwt> parsed = ParseJwt(token);
  if (!parsed) return std::nullopt;
  const auto iss = parsed->claims.find("iss");
  if (iss == parsed->claims.end() || !iss->is_string()) return std::nullopt;
  return iss->get<std::string>();
}

}  // namespace dbproxy
