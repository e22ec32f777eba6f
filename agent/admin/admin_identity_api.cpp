#include "agent/admin/admin_identity_api.hpp"

#include <nlohmann/json.hpp>

#include "agent/clock.hpp"
#include "agent/server/responses.hpp"
#include "common/core/json_fields.hpp"
#include "common/core/secret_bytes.hpp"
#include "common/identity/jwt.hpp"

namespace dbproxy {
namespace {

nlohmann::json IdpList(const AgentState& state) {
  nlohmann::json idps = nlohmann::json::array();
  if (!state.idps) return idps;
  for (const IdpInfo& idp : state.idps->List()) {
    idps.push_back({{"name", idp.name},
                    {"issuer", idp.issuer},
                    {"jwks_uri", idp.jwks_uri},
                    {"discovery", idp.discovery},
                    {"keys", idp.keys},
                    {"last_fetch", idp.last_fetch},
                    {"last_error", idp.last_error}});
  }
  return idps;
}

nlohmann::json VerdictBody(const IdpVerdict& verdict) {
  if (verdict.kind != IdpVerdict::Kind::kVerified) {
    return {{"verified", false},
            {"idp", verdict.idp},
            {"reason", verdict.reason},
            {"unavailable", verdict.kind == IdpVerdict::Kind::kUnavailable}};
  }
  nlohmann::json attributes = nlohmann::json::object();
  for (const auto& [key, value] : verdict.attributes) {
    std::visit([&](const auto& v) { attributes[key] = v; }, value);
  }
  return {{"verified", true},
          {"idp", verdict.idp},
          {"iss", verdict.jwt.issuer},
          {"sub", verdict.jwt.subject},
          {"aud", verdict.jwt.audience},
          {"expires_at", verdict.jwt.expires_at},
          {"claims", verdict.jwt.claims},
          {"attributes", std::move(attributes)}};
}

HttpResponse VerifyToken(const AgentState& state, HttpRequest& request,
                         const RequestContext& context, AuditRecord& audit) {
  const JsonContext where{.code = Errc::kInvalidRequest, .where = "request body"};
  Result<nlohmann::json> body = ParseJsonBody(request.body(), where);
  WipeString(request.body());
  if (!body) return ErrorResponse(body.error(), context);
  Status known = CheckObjectKeys(*body, {"token"}, where);
  if (!known) return ErrorResponse(known.error(), context);
  Result<std::string> token = ReadString(*body, "token", kMaxJwtBytes, where);
  if (const auto held = body->find("token"); held != body->end() && held->is_string()) {
    WipeString(held->get_ref<std::string&>());
  }
  if (!token) return ErrorResponse(token.error(), context);
  if (!state.idps || state.idps->empty()) {
    WipeString(*token);
    return ErrorResponse(
        MakeError(Errc::kNotFound, "this agent has no identity provider ([[idp]] in agent.toml)"),
        context);
  }
  const IdpVerdict verdict = state.idps->VerifyCached(*token, NowUnix());
  WipeString(*token);
  if (!verdict.idp.empty()) audit.detail.emplace_back("idp", verdict.idp);
  audit.detail.emplace_back("verified",
                            verdict.kind == IdpVerdict::Kind::kVerified ? "true" : "false");
  return JsonResponse(http::status::ok, VerdictBody(verdict));
}

}  // namespace

std::optional<HttpResponse> HandleIdentityAdmin(const AgentState& state, HttpRequest& request,
                                                const RequestContext& context,
                                                const std::vector<std::string>& path,
                                                AuditRecord& audit) {
  if (path.size() < 2 || path[0] != "v1" || path[1] != "idps") return std::nullopt;
  if (path.size() == 2) {
    audit.action = "admin.idp.list";
    if (request.method() != http::verb::get) {
      return ErrorResponse(MakeError(Errc::kMethodNotAllowed, "use GET"), context);
    }
    return JsonResponse(http::status::ok, {{"idps", IdpList(state)}});
  }
  if (path.size() == 3 && path[2] == "verify") {
    audit.action = "admin.idp.test";
    if (request.method() != http::verb::post) {
      WipeString(request.body());
      return ErrorResponse(MakeError(Errc::kMethodNotAllowed, "use POST"), context);
    }
    return VerifyToken(state, request, context, audit);
  }
  return std::nullopt;
}

}  // namespace dbproxy
