#include "common/runtime/runtime_api.hpp"

#include <map>

#include <nlohmann/json.hpp>

#include "common/store/credential_store_format.hpp"
#include "common/core/duration.hpp"
#include "common/runtime/grants.hpp"
#include "common/calls/http_target.hpp"
#include "common/core/json_fields.hpp"

namespace dbproxy {
namespace {

const JsonContext kBody{.code = Errc::kInvalidRequest, .where = "request body"};


// A grant or maintenance body is never empty; otherwise ParseJsonBody (repeated keys refused).
Result<nlohmann::json> ParseObject(std::string_view body) {
  if (body.empty()) return InvalidRequest("request body: expected a JSON object");
  return ParseJsonBody(body, kBody);
}

// A required name field: a string matching IsValidName.
Result<std::string> ReadName(const nlohmann::json& object, const char* key) {
  Result<std::string> name = ReadString(object, key, 64, kBody);
  if (!name) return name;
  if (!IsValidName(*name)) return InvalidRequest(std::string(key) + " must match [A-Za-z0-9._-]{1,64}");
  return name;
}

// The optional "reason" and "for_seconds" fields shared by both bodies.
Status ReadReasonAndDuration(const nlohmann::json& object, std::string& reason,
                             std::int64_t& for_seconds) {
  if (object.contains("reason")) {
    Result<std::string> text = ReadString(object, "reason", kMaxGrantReasonBytes, kBody);
    if (!text) return std::move(text).error();
    if (!IsPrintableText(*text)) return InvalidRequest("reason must be printable text on one line");
    reason = std::move(*text);
  }
  if (object.contains("for_seconds")) {
    Result<std::int64_t> seconds = ReadCount(object, "for_seconds", kBody);
    if (!seconds) return std::move(seconds).error();
    if (*seconds < 1 || *seconds > kMaxDurationSeconds) {
      return InvalidRequest("for_seconds must be between 1 and " + std::to_string(kMaxDurationSeconds) +
                     " (366 days)");
    }
    for_seconds = *seconds;
  }
  return Status::Ok();
}

// Scope by name, and the target rules for it; `target` is null when absent.
Result<MaintenanceKey> MakeKey(std::string_view scope_name, const std::string* target) {
  const std::optional<MaintenanceScope> scope = ParseScope(scope_name);
  if (!scope) return InvalidRequest("scope must be global, service or workspace");
  if (*scope == MaintenanceScope::kGlobal) {
    if (target != nullptr) return InvalidRequest("a global switch takes no target");
    return MaintenanceKey{.scope = *scope, .target = {}};
  }
  if (target == nullptr) {
    return InvalidRequest("target is required for scope " + std::string(ScopeName(*scope)));
  }
  if (!IsValidName(*target)) return InvalidRequest("target must match [A-Za-z0-9._-]{1,64}");
  return MaintenanceKey{.scope = *scope, .target = *target};
}

}  // namespace

Result<GrantRequest> ParseGrantRequest(std::string_view body) {
  Result<nlohmann::json> object = ParseObject(body);
  if (!object) return std::move(object).error();
  if (Status keys = CheckObjectKeys(*object, {"service", "role", "for_seconds", "reason"}, kBody);
      !keys) {
    return std::move(keys).error();
  }
  GrantRequest request;
  Result<std::string> service = ReadName(*object, "service");
  if (!service) return std::move(service).error();
  Result<std::string> role = ReadName(*object, "role");
  if (!role) return std::move(role).error();
  request.service = std::move(*service);
  request.role = std::move(*role);
  if (Status rest = ReadReasonAndDuration(*object, request.reason, request.for_seconds); !rest) {
    return std::move(rest).error();
  }
  return request;
}

nlohmann::json GrantRequestToJson(const GrantRequest& request) {
  nlohmann::json body = {{"service", request.service}, {"role", request.role}};
  if (!request.reason.empty()) body["reason"] = request.reason;
  if (request.for_seconds > 0) body["for_seconds"] = request.for_seconds;
  return body;
}

Result<MaintenanceRequest> ParseMaintenanceRequest(std::string_view body) {
  Result<nlohmann::json> object = ParseObject(body);
  if (!object) return std::move(object).error();
  if (Status keys =
          CheckObjectKeys(*object, {"scope", "target", "reason", "for_seconds"}, kBody);
      !keys) {
    return std::move(keys).error();
  }
  Result<std::string> scope = ReadString(*object, "scope", 16, kBody);
  if (!scope) return std::move(scope).error();
  std::optional<std::string> target;
  if (object->contains("target")) {
    Result<std::string> text = ReadString(*object, "target", 64, kBody);
    if (!text) return std::move(text).error();
    target = std::move(*text);
  }
  Result<MaintenanceKey> key = MakeKey(*scope, target ? &*target : nullptr);
  if (!key) return std::move(key).error();
  MaintenanceRequest request;
  request.scope = key->scope;
  request.target = std::move(key->target);
  if (Status rest = ReadReasonAndDuration(*object, request.reason, request.for_seconds); !rest) {
    return std::move(rest).error();
  }
  return request;
}

nlohmann::json MaintenanceRequestToJson(const MaintenanceRequest& request) {
  nlohmann::json body = {{"scope", ScopeName(request.scope)}};
  if (request.scope != MaintenanceScope::kGlobal) body["target"] = request.target;
  if (!request.reason.empty()) body["reason"] = request.reason;
  if (request.for_seconds > 0) body["for_seconds"] = request.for_seconds;
  return body;
}

Result<MaintenanceKey> ParseMaintenanceQuery(std::string_view query) {
  Result<std::map<std::string, std::string>> params = ParseQuery(query);
  if (!params) return std::move(params).error();
  for (const auto& [name, value] : *params) {
    if (name != "scope" && name != "target") {
      return InvalidRequest("unknown query parameter (use scope and target)");
    }
  }
  const auto scope = params->find("scope");
  if (scope == params->end()) return InvalidRequest("the scope query parameter is required");
  const auto target = params->find("target");
  return MakeKey(scope->second, target == params->end() ? nullptr : &target->second);
}

std::string MaintenanceQuery(const MaintenanceKey& key) {
  std::string query = "scope=" + std::string(ScopeName(key.scope));
  if (key.scope != MaintenanceScope::kGlobal) query += "&target=" + key.target;
  return query;
}

}  // namespace dbproxy
