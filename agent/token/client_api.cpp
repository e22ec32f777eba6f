#include "agent/token/client_api.hpp"

#include "agent/audit/audit_commit.hpp"
#include "agent/clock.hpp"
#include "agent/log.hpp"
#include "agent/server/responses.hpp"
#include "common/core/error_mapping.hpp"
#include "common/calls/http_target.hpp"
#include "common/oauth/oauth.hpp"

namespace dbproxy {
namespace {

constexpr int kMaxMinTtlSeconds = 3000;

struct TokenRequest {
  std::string workspace;
  std::string scope;
  int min_ttl_seconds = -1;  // -1: the configured default
};

Result<TokenRequest> ParseTokenRequest(const std::string& body) {
  Result<nlohmann::json> json = ParseJsonObject(body);
  if (!json) return std::move(json).error();
  TokenRequest out;
  for (const auto& [key, value] : json->items()) {
    if (key == "workspace" && value.is_string()) {
      out.workspace = value.get<std::string>();
    } else if (key == "scope" && value.is_string()) {
      out.scope = value.get<std::string>();
    } else if (key == "min_ttl_seconds" && value.is_number_integer() && value.get<long>() >= 0 &&
               value.get<long>() <= kMaxMinTtlSeconds) {
      out.min_ttl_seconds = value.get<int>();
    } else if (key == "workspace" || key == "scope" || key == "min_ttl_seconds") {
      return MakeError(Errc::kInvalidRequest,
                       "'" + key + "' has the wrong type or is out of range (min_ttl_seconds: 0-" +
                           std::to_string(kMaxMinTtlSeconds) + ")");
    } else {
      return MakeError(Errc::kInvalidRequest, "unknown field '" + key + "'");
    }
  }
  return out;
}

}  // namespace

void ShadowDecide(const AgentState& state, const RequestContext& context, const RequestFacts& facts,
                  AuditRecord& audit) {
  if (!state.shadow_policy) return;
  const CallerIdentity& identity = context.peer.identity();
  Result<const Service*> service =
      MatchService(*state.shadow_policy, identity, context.peer.group_names());
  if (!service) {
    audit.shadow_decision = "deny";
    audit.shadow_rule = "unidentified";
    return;
  }
  const std::vector<std::string> granted =
      state.runtime->grants().ActiveRoles((*service)->name, facts.now_unix);
  const EvalInput input{.service = *service, .identity = &identity,
                        .group_names = &context.peer.group_names(), .facts = &facts,
                        .granted_roles = &granted};
  const Decision decision = Evaluate(*state.shadow_policy, input);
  audit.shadow_decision = decision.allow ? "allow" : "deny";
  audit.shadow_rule = decision.rule;
}

namespace {

nlohmann::json WhoAmI(const AgentState& state, const RequestContext& context, AuditRecord& audit) {
  const CallerIdentity& id = context.peer.identity();
  nlohmann::json out = {{"pid", id.pid},     {"uid", id.uid},       {"gid", id.gid},
                        {"user", id.user},   {"group", id.group},   {"groups", id.groups},
                        {"exe", id.exe},     {"unit", id.unit},     {"cgroup", id.cgroup},
                        {"service", nullptr}, {"attributes", nlohmann::json::object()},
                        {"roles", nlohmann::json::array()}, {"workspace", nullptr}};
  Result<const Service*> service =
      MatchService(*state.policy, id, context.peer.group_names());
  if (service) {
    out["service"] = (*service)->name;
    audit.service = (*service)->name;
    out["attributes"] = (*service)->attributes;
    out["roles"] = (*service)->roles;
    if (!(*service)->workspace.empty()) out["workspace"] = (*service)->workspace;
  } else {
    out["unidentified_reason"] = service.error().message;
  }
  return out;
}

asio::awaitable<HttpResponse> IssueToken(AgentState& state, const HttpRequest& request,
                                         const RequestContext& context, AuditRecord& audit) {
  Result<TokenRequest> parsed = ParseTokenRequest(request.body());
  if (!parsed) co_return ErrorResponse(parsed.error(), context.request_id);
  Result<const Service*> service =
      MatchService(*state.policy, context.peer.identity(), context.peer.group_names());
  if (!service) {
    audit.decision = "deny";
    co_return ErrorResponse(service.error(), context.request_id);
  }
  audit.service = (*service)->name;
  Result<std::string> scope = parsed->scope.empty() ? DefaultTokenScope(*state.policy, **service)
                                                    : CanonicalScope(parsed->scope);
  if (!scope) co_return ErrorResponse(scope.error(), context.request_id);
  if (scope->empty()) {
    co_return ErrorResponse(MakeError(Errc::kInvalidRequest, "scope is blank"),
                            context.request_id);
  }
  audit.action = "token:" + *scope;
  const std::string workspace =
      parsed->workspace.empty() ? (*service)->workspace : parsed->workspace;
  audit.workspace = workspace;
  if (workspace.empty()) {
    co_return ErrorResponse(
        MakeError(Errc::kInvalidRequest,
                  "no workspace given and service '" + (*service)->name + "' has no default"),
        context.request_id);
  }
  const CallerIdentity& identity = context.peer.identity();
  const std::int64_t now = NowUnix();
  if (auto maintenance = state.runtime->maintenance().Find((*service)->name, workspace, now)) {
    Error error = MaintenanceError(*maintenance, now);
    audit.decision = "deny";
    audit.rule = error.rule;
    co_return ErrorResponse(error, context.request_id);
  }
  const std::vector<std::string> granted = state.runtime->grants().ActiveRoles((*service)->name, now);
  const RequestFacts facts{.action = audit.action, .workspace = workspace, .now_unix = now};
  const EvalInput input{.service = *service, .identity = &identity,
                        .group_names = &context.peer.group_names(), .facts = &facts,
                        .granted_roles = &granted};
  ShadowDecide(state, context, facts, audit);
  const Decision decision = Evaluate(*state.policy, input);
  audit.rule = decision.rule;
  if (!decision.allow) {
    audit.decision = "deny";
    Error denied = MakeError(Errc::kPolicyDenied, decision.reason);
    denied.rule = decision.rule;
    co_return ErrorResponse(denied, context.request_id);
  }
  // A raw token escapes call-level rules: refuse it when a rule or limit restricts calls the
  // token's scope could make, and say how to get the call through.
  if (std::string bypassed = RawTokenBypass(*state.policy, input, *scope); !bypassed.empty()) {
    audit.decision = "deny";
    audit.rule = bypassed;
    Error denied = MakeError(Errc::kPolicyDenied,
                             "'" + bypassed + "' restricts calls that a token with scope '" +
                                 *scope + "' could make; use proxy mode or a narrower scope");
    denied.rule = bypassed;
    co_return ErrorResponse(denied, context.request_id);
  }
  if (decision.role == nullptr) {
    co_return ErrorResponse(MakeError(Errc::kPolicyDenied, "service '" + (*service)->name +
                                                              "' has no role with a credential"),
                            context.request_id);
  }
  audit.decision = "allow";
  audit.credential = decision.role->credential;
  const int min_ttl =
      parsed->min_ttl_seconds >= 0 ? parsed->min_ttl_seconds : state.config.tokens.min_ttl_seconds;
  const TokenKey key{.workspace = workspace, .credential = decision.role->credential,
                     .scope = *scope};
  Result<std::shared_ptr<const IssuedToken>> token = co_await state.broker->Get(key, min_ttl);
  if (!token) co_return ErrorResponse(token.error(), context.request_id);
  const IssuedToken& issued = **token;
  const std::int64_t answered_at = NowUnix();  // the broker may have waited upstream
  co_return TokenResponse(issued.access_token,
                         {{"token_type", "Bearer"},
                          {"expires_in", std::max<std::int64_t>(0, issued.expires_at - answered_at)},
                          {"expires_at", issued.expires_at},
                          {"scope", issued.scope},
                          {"workspace", workspace},
                          {"host", issued.host}});
}

}  // namespace

asio::awaitable<HttpResponse> HandleClientRequest(AgentState& state, HttpRequest& request,
                                                  RequestContext& context) {
  AuditRecord audit = BeginAudit("agent", request, context);
  const std::string_view path = SplitRequestTarget(request.target()).path;
  HttpResponse response;
  if (path == "/healthz") {
    audit.action = "healthz";
    response = request.method() == http::verb::get
                   ? JsonResponse(http::status::ok, {{"status", "ok"}})
                   : ErrorResponse(MakeError(Errc::kMethodNotAllowed, "use GET"), context.request_id);
  } else if (Status admitted = AdmitAudited(state); !admitted) {
    audit.action = path == "/v1/token" ? "token" : "unknown";
    response = ErrorResponse(admitted.error(), context.request_id);
  } else if (path == "/v1/whoami") {
    audit.action = "whoami";
    response = request.method() == http::verb::get
                   ? JsonResponse(http::status::ok, WhoAmI(state, context, audit))
                   : ErrorResponse(MakeError(Errc::kMethodNotAllowed, "use GET"), context.request_id);
  } else if (path == "/v1/token") {
    audit.action = "token";
    if (request.method() == http::verb::post) {
      response = co_await IssueToken(state, request, context, audit);
    } else {
      response = ErrorResponse(MakeError(Errc::kMethodNotAllowed, "use POST"), context.request_id);
    }
  } else {
    audit.action = "unknown";
    response = ErrorResponse(MakeError(Errc::kNotFound, "no such endpoint"), context.request_id);
  }
  FinishAudit(audit, response, context);
  if (!audit.shadow_decision.empty() && audit.shadow_decision != audit.decision) {
    Log(LogLevel::kInfo, "shadow policy would " + audit.shadow_decision + " (" + audit.shadow_rule +
                             ") what was " + audit.decision + " (" + audit.rule + "): service '" +
                             audit.service + "' " + audit.action + ", request " +
                             context.request_id);
  }
  co_await CommitAudit(state, audit);
  co_return response;
}

}  // namespace dbproxy
