#include "common/core/error_mapping.hpp"

#include <nlohmann/json.hpp>

namespace dbproxy {

HttpError ToHttpError(Errc code) noexcept {
  switch (code) {
    case Errc::kInvalidRequest: return {400, "invalid_request"};
    case Errc::kUnidentified: return {403, "unidentified"};
    case Errc::kUnauthenticated: return {401, "identity_required"};
    case Errc::kInvalidIdentity:
      return {401, "invalid_identity"};
    case Errc::kIdentityUnavailable:
      return {503, "identity_unavailable"};
    case Errc::kPolicyDenied: return {403, "policy_denied"};
    case Errc::kForbidden: return {403, "forbidden"};
    case Errc::kUnknownWorkspace: return {403, "unknown_workspace"};
    case Errc::kNotFound: return {404, "not_found"};
    case Errc::kMethodNotAllowed: return {405, "method_not_allowed"};
    case Errc::kConflict: return {409, "conflict"};
    case Errc::kPayloadTooLarge: return {413, "payload_too_large"};
    case Errc::kRequestTimeout: return {408, "request_timeout"};
    case Errc::kInvalidCredential: return {422, "invalid_credential"};
    case Errc::kRateLimited: return {429, "rate_limited"};
    case Errc::kMaintenance: return {503, "maintenance"};
    case Errc::kAuditUnavailable: return {503, "audit_unavailable"};
    case Errc::kUpstreamUnavailable: return {503, "upstream_unavailable"};
    case Errc::kUpstreamError: return {502, "upstream_error"};
    case Errc::kUpstreamTimeout: return {504, "upstream_timeout"};
    case Errc::kCorrupt: return {500, "corrupt_state"};
    case Errc::kInternal: return {500, "internal"};
  }
  return {500, "internal"};
}

std::string_view DatabricksErrorCode(Errc code) noexcept {
  switch (code) {
    case Errc::kInvalidRequest:
    case Errc::kPayloadTooLarge: return "INVALID_PARAMETER_VALUE";
    case Errc::kUnidentified:
    case Errc::kUnauthenticated:
    case Errc::kInvalidIdentity:
    case Errc::kPolicyDenied:
    case Errc::kForbidden:
    case Errc::kUnknownWorkspace:
    case Errc::kInvalidCredential: return "PERMISSION_DENIED";
    case Errc::kNotFound:
    case Errc::kMethodNotAllowed: return "ENDPOINT_NOT_FOUND";
    case Errc::kConflict: return "RESOURCE_CONFLICT";
    case Errc::kRateLimited: return "REQUEST_LIMIT_EXCEEDED";
    case Errc::kRequestTimeout:
    case Errc::kUpstreamTimeout: return "DEADLINE_EXCEEDED";
    case Errc::kMaintenance:
    case Errc::kIdentityUnavailable:
    case Errc::kAuditUnavailable:
    case Errc::kUpstreamUnavailable: return "TEMPORARILY_UNAVAILABLE";
    case Errc::kUpstreamError:
    case Errc::kCorrupt:
    case Errc::kInternal: return "INTERNAL_ERROR";
  }
  return "INTERNAL_ERROR";
}

std::string ProxyErrorBody(const Error& error, std::string_view request_id, bool sdk_only) {
  nlohmann::json body = nlohmann::json::parse(ErrorBody(error, request_id));
  if (sdk_only) body = nlohmann::json{{"dbproxy", std::move(body["error"])}};
  body["error_code"] = DatabricksErrorCode(error.code);
  body["message"] = "dbproxy: " + error.message;
  return body.dump();
}

std::string ErrorBody(const Error& error, std::string_view request_id) {
  nlohmann::json body = {{"code", ToHttpError(error.code).code}, {"message", error.message}};
  if (!error.rule.empty()) body["rule"] = error.rule;
  if (!request_id.empty()) body["request_id"] = request_id;
  if (error.retry_after_seconds > 0) body["retry_after_seconds"] = error.retry_after_seconds;
  return nlohmann::json{{"error", std::move(body)}}.dump();
}

}  // namespace dbproxy
