#include "common/policy/explain_request.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/calls/classify.hpp"
#include "common/calls/http_target.hpp"
#include "common/calls/request_body.hpp"
#include "common/policy/actions.hpp"

namespace dbproxy {
namespace {

constexpr std::array<std::string_view, 16> kStrings = {
    "user",        "unit",       "exe",         "service",          "workspace",
    "action",      "method",     "path",        "warehouse",        "disposition",
    "node_type",   "driver_node_type", "job_id", "secret_scope",    "secret_key",
    "target_path"};
constexpr std::array<std::string_view, 7> kCounts = {
    "uid", "gid", "row_limit", "byte_limit", "statement_bytes", "num_workers", "time"};

bool IsOneOf(std::string_view key, auto& names) {
  return std::find(names.begin(), names.end(), key) != names.end();
}


Status CheckFields(const nlohmann::json& body) {
  for (const auto& [key, value] : body.items()) {
    if (key == "jwt" || key == "saml") continue;  // ReadJwt, ReadSaml
    const bool count = IsOneOf(key, kCounts);
    const bool text = !count && IsOneOf(key, kStrings);
    if (!count && !text) return InvalidRequest("unknown field '" + key + "'");
    const bool job_id_number = key == "job_id" && value.is_number_integer();
    if ((text && !value.is_string() && !job_id_number) ||
        (count && !value.is_number_integer())) {
      return InvalidRequest("'" + key + "' has the wrong type");
    }
    const bool may_be_negative = key == "uid" || key == "gid" || key == "time";
    if ((count || job_id_number) && !may_be_negative && value.get<std::int64_t>() < 0) {
      return InvalidRequest("'" + key + "' must not be negative");
    }
  }
  if (!body.contains("action") && !(body.contains("method") && body.contains("path"))) {
    return InvalidRequest("give an action, or a method and a path");
  }
  return Status::Ok();
}

std::optional<std::string> OptionalString(const nlohmann::json& body, const char* key) {
  if (!body.contains(key)) return std::nullopt;
  return body[key].get<std::string>();
}

std::optional<std::int64_t> OptionalCount(const nlohmann::json& body, const char* key) {
  if (!body.contains(key)) return std::nullopt;
  return body[key].get<std::int64_t>();
}

// job_id as the proxy canonicalises it: decimal digits without leading zeros.
Result<std::optional<std::string>> JobId(const nlohmann::json& body) {
  if (!body.contains("job_id")) return std::optional<std::string>();
  if (body["job_id"].is_number_integer()) {
    return std::optional<std::string>(std::to_string(body["job_id"].get<std::int64_t>()));
  }
  const std::string text = body["job_id"].get<std::string>();
  if (text.empty() || text.size() > 18 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidRequest("'job_id' must be a decimal number");
  }
  return std::optional<std::string>(std::to_string(std::stoll(text)));
}

// The call facts a body with these fields would give (InspectBody, then AddToRequestFacts).
Status AddCallFacts(const nlohmann::json& body, BodyFacts base, RequestFacts& facts) {
  base.warehouse = OptionalString(body, "warehouse");
  base.disposition = OptionalString(body, "disposition");
  base.node_type = OptionalString(body, "node_type");
  base.driver_node_type = OptionalString(body, "driver_node_type");
  base.row_limit = OptionalCount(body, "row_limit");
  base.byte_limit = OptionalCount(body, "byte_limit");
  if (base.row_limit == 0) base.row_limit.reset();
  if (base.byte_limit == 0) base.byte_limit.reset();
  base.statement_bytes = OptionalCount(body, "statement_bytes");
  base.num_workers = OptionalCount(body, "num_workers");
  // Given ones win over those read from the path's query (the operator asks "what if").
  if (body.contains("secret_scope")) base.secret_scope = OptionalString(body, "secret_scope");
  if (body.contains("secret_key")) base.secret_key = OptionalString(body, "secret_key");
  if (body.contains("target_path")) base.target_path = OptionalString(body, "target_path");
  Result<std::optional<std::string>> job_id = JobId(body);
  if (!job_id) return std::move(job_id).error();
  if (*job_id) base.job_id = std::move(*job_id);  // else the query's, if any
  AddToRequestFacts(base, facts);
  return Status::Ok();
}

// A claim value as ClaimAttributes gives it: strings as they are, numbers and booleans as their
// JSON text.
std::optional<std::string> ClaimText(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number() || value.is_boolean()) return value.dump();
  return std::nullopt;
}

Result<ClaimValue> ParseClaim(const std::string& name, const nlohmann::json& value) {
  if (std::optional<std::string> text = ClaimText(value)) return ClaimValue(std::move(*text));
  const Error wrong = InvalidRequest("'jwt' claim '" + name +
                              "' must be a string, number, boolean or an array of those");
  if (!value.is_array()) return wrong;
  if (value.size() > kMaxExplainClaimValues) {
    return InvalidRequest("'jwt' claim '" + name + "' has more than " +
                   std::to_string(kMaxExplainClaimValues) + " values");
  }
  std::vector<std::string> list;
  for (const nlohmann::json& element : value) {
    std::optional<std::string> text = ClaimText(element);
    if (!text) return wrong;
    list.push_back(std::move(*text));
  }
  return ClaimValue(std::move(list));
}

// {"idp": "corp", "claims": {...}} -> out.jwt_idp, out.jwt.
Status ReadJwt(const nlohmann::json& jwt, ExplainRequest& out) {
  if (!jwt.is_object()) return InvalidRequest("'jwt' must be an object with idp and claims");
  for (const auto& [key, value] : jwt.items()) {
    if (key != "idp" && key != "claims") return InvalidRequest("unknown field 'jwt." + key + "'");
  }
  if (!jwt.contains("idp") || !jwt["idp"].is_string() || jwt["idp"].get<std::string>().empty()) {
    return InvalidRequest("'jwt.idp' must name the identity provider");
  }
  if (!jwt.contains("claims") || !jwt["claims"].is_object()) {
    return InvalidRequest("'jwt.claims' must be an object");
  }
  const nlohmann::json& claims = jwt["claims"];
  if (claims.size() > kMaxExplainClaims) {
    return InvalidRequest("'jwt.claims' has more than " + std::to_string(kMaxExplainClaims) + " claims");
  }
  JwtAttributes attributes;
  for (const auto& [name, value] : claims.items()) {
    if (!IsValidClaimName(name)) return InvalidRequest("'jwt' claim name '" + name + "' is not valid");
    Result<ClaimValue> claim = ParseClaim(name, value);
    if (!claim) return std::move(claim).error();
    attributes.emplace("jwt." + name, std::move(*claim));
  }
  out.jwt_idp = jwt["idp"].get<std::string>();
  out.jwt = std::move(attributes);
  return Status::Ok();
}

// {"idp": "corp-saml", "attributes": {"groups": ["a", "b"], ...}} -> out.saml_idp, out.saml
// (keyed "saml.<name>").
Status ReadSaml(const nlohmann::json& saml, ExplainRequest& out) {
  if (!saml.is_object()) {
    return InvalidRequest("'saml' must be an object with idp and attributes");
  }
  for (const auto& [key, value] : saml.items()) {
    if (key != "idp" && key != "attributes") {
      return InvalidRequest("unknown field 'saml." + key + "'");
    }
  }
  if (!saml.contains("idp") || !saml["idp"].is_string() ||
      saml["idp"].get<std::string>().empty()) {
    return InvalidRequest("'saml.idp' must name the SAML identity provider");
  }
  if (!saml.contains("attributes") || !saml["attributes"].is_object()) {
    return InvalidRequest("'saml.attributes' must be an object");
  }
  const nlohmann::json& given = saml["attributes"];
  if (given.size() > kMaxExplainClaims) {
    return InvalidRequest("'saml.attributes' has more than " + std::to_string(kMaxExplainClaims) +
                          " attributes");
  }
  SamlAttributes attributes;
  for (const auto& [name, value] : given.items()) {
    if (!IsValidClaimName(name)) {
      return InvalidRequest("'saml' attribute name '" + name + "' is not valid");
    }
    const Error wrong =
        InvalidRequest("'saml' attribute '" + name + "' must be a string or an array of at most " +
                       std::to_string(kMaxExplainClaimValues) + " strings");
    std::vector<std::string> values;
    if (value.is_string()) {
      values.push_back(value.get<std::string>());
    } else if (value.is_array() && value.size() <= kMaxExplainClaimValues) {
      for (const nlohmann::json& element : value) {
        if (!element.is_string()) return wrong;
        values.push_back(element.get<std::string>());
      }
    } else {
      return wrong;
    }
    attributes.emplace("saml." + name, std::move(values));
  }
  out.saml_idp = saml["idp"].get<std::string>();
  out.saml = std::move(attributes);
  return Status::Ok();
}

}  // namespace

Result<ExplainRequest> ParseExplainRequest(const nlohmann::json& body, std::int64_t now) {
  if (!body.is_object()) return InvalidRequest("the body must be a JSON object");
  if (Status valid = CheckFields(body); !valid) return std::move(valid).error();
  ExplainRequest out;
  out.uid = OptionalCount(body, "uid");
  out.gid = OptionalCount(body, "gid");
  out.user = OptionalString(body, "user");
  out.unit = body.value("unit", "");
  out.exe = body.value("exe", "");
  out.service = body.value("service", "");
  if (body.contains("jwt")) {
    if (Status jwt = ReadJwt(body["jwt"], out); !jwt) return std::move(jwt).error();
  }
  if (body.contains("saml")) {
    if (Status saml = ReadSaml(body["saml"], out); !saml) return std::move(saml).error();
  }
  RequestFacts& facts = out.facts;
  facts.now_unix = body.value("time", now);
  facts.workspace = body.value("workspace", "");
  BodyFacts base;
  if (body.contains("action")) {
    Result<std::string> action = NormalizeActionPattern(body.value("action", ""));
    if (!action) return std::move(action).error();
    facts.action = std::move(*action);
  } else {
    const std::string method = body.value("method", "");
    const std::string target = body.value("path", "");
    const SplitTarget split = SplitRequestTarget(target);
    Result<Classification> call = ClassifyCall(method, split.path);
    if (!call) return std::move(call).error();
    facts.action = call->action;
    facts.method = method;
    facts.path = call->normalized_path;
    // What reading an (empty) body of this call establishes, e.g. a statement submission.
    if (BodyNeedsInspection(*call, method)) {
      Result<BodyFacts> inspected = InspectBody(*call, "{}");
      if (inspected) base = std::move(*inspected);
    }
    // The query's (and a Files URL's) job_id, secret scope and key, and path, as the proxy
    // reads them.
    if (Status query = InspectQuery(*call, split.query, base); !query) {
      return std::move(query).error();
    }
  }
  if (Status added = AddCallFacts(body, std::move(base), facts); !added) {
    return std::move(added).error();
  }
  return out;
}

}  // namespace dbproxy
