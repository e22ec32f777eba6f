#include "agent/token/client_api.hpp"

#include "agent/audit/audit_commit.hpp"
#include "agent/clock.hpp"
#include "agent/identity/caller_jwt.hpp"
#include "agent/identity/caller_saml.hpp"
#include "agent/log.hpp"
#include "agent/server/responses.hpp"
#include "common/calls/http_target.hpp"
#include "common/core/error_mapping.hpp"
#include "common/core/json_fields.hpp"
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
  Result<nlohmann::json> json =
      ParseJsonBody(body, JsonContext{.code = Errc::kInvalidRequest, .where = "request body"});
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

void RecordServiceAttributes(const Service& service, AuditRecord& audit) {
  // Copied now, from the policy that decided: a reload before the record is written must not
  // change what it says decided.
  std::vector<std::pair<std::string, std::string>> attributes;
  attributes.reserve(service.attributes.size() + audit.attributes.size());
  for (const auto& [key, value] : service.attributes) attributes.emplace_back("service." + key, value);
  for (auto& fact : audit.attributes) attributes.push_back(std::move(fact));
  audit.attributes = std::move(attributes);
}

DecisionSubject SubjectOf(const RequestContext& context) {
  DecisionSubject subject{.identity = &context.peer.identity(),
                          .group_names = &context.peer.group_names()};
  if (context.jwt != nullptr) {
    subject.jwt = &context.jwt->attributes;
    subject.jwt_idp = context.jwt->idp;
  }
  if (context.saml != nullptr) {
    subject.saml = &context.saml->attributes;
    subject.saml_idp = context.saml->idp;
  }
  return subject;
}

CallDecision DecideRequest(const PinnedPolicy& pinned, const AgentState& state,
                           const RequestContext& context, const RequestFacts& facts,
                           AuditRecord& audit) {
  const RuntimeState::Pinned pinned_runtime = state.runtime->Pin();
  const RuntimeView runtime = pinned_runtime.view();
  const DecisionSubject subject = SubjectOf(context);
  if (pinned.shadow) {
    const CallDecision shadow = Decide(*pinned.shadow, runtime, subject, facts);
    audit.shadow_decision = shadow.allow ? "allow" : "deny";
    audit.shadow_rule = shadow.rule;
  }
  CallDecision decision = Decide(*pinned.enforced, runtime, subject, facts);
  if (!decision.service_name.empty()) audit.service = decision.service_name;
  if (decision.service != nullptr) RecordServiceAttributes(*decision.service, audit);
  audit.rule = decision.rule;
  if (!decision.allow) audit.decision = "deny";
  return decision;
}

Result<const Service*> IdentifyService(const PinnedPolicy& pinned, const RequestContext& context,
                                       AuditRecord& audit) {
  Result<const Service*> service = MatchSubject(*pinned.enforced, SubjectOf(context));
  if (!service) {
    audit.decision = "deny";
    audit.rule = "unidentified";
    return service;
  }
  audit.service = (*service)->name;
  return service;
}

asio::awaitable<Result<std::shared_ptr<const IssuedToken>>> DecideToken(
    AgentState& state, const PinnedPolicy& pinned, const RequestContext& context,
    const std::string& workspace, const std::string& scope, int min_ttl, AuditRecord& audit) {
  audit.action = "token:" + scope;
  audit.workspace = workspace;
  const RequestFacts facts{.action = audit.action, .workspace = workspace, .now_unix = NowUnix()};
  const CallDecision decision = DecideRequest(pinned, state, context, facts, audit);
  if (!decision.allow) co_return decision.error;
  audit.decision = "allow";
  audit.credential = decision.credential;
  const TokenKey key{.workspace = workspace, .credential = decision.credential, .scope = scope};
  Result<std::shared_ptr<const IssuedToken>> token = co_await state.broker->Get(key, min_ttl);
  co_return token;
}

namespace {

nlohmann::json WhoAmI(const AgentState& state, const RequestContext& context, AuditRecord& audit) {
  const CallerIdentity& id = context.peer.identity();
  nlohmann::json out = {{"pid", id.pid},     {"uid", id.uid},       {"gid", id.gid},
                        {"user", id.user},   {"group", id.group},   {"groups", id.groups},
                        {"exe", id.exe},     {"unit", id.unit},     {"cgroup", id.cgroup},
                        {"service", nullptr}, {"attributes", nlohmann::json::object()},
                        {"roles", nlohmann::json::array()}, {"workspace", nullptr}};
  const std::shared_ptr<const Policy> policy = state.EnforcedPolicy();
  Result<const Service*> service = MatchService(*policy, id, context.peer.group_names());
  if (service) {
    out["service"] = (*service)->name;
    audit.service = (*service)->name;
    RecordServiceAttributes(**service, audit);
    out["attributes"] = (*service)->attributes;
    out["roles"] = (*service)->roles;
    if (!(*service)->workspace.empty()) out["workspace"] = (*service)->workspace;
  } else {
    out["unidentified_reason"] = service.error().message;
  }
  if (context.jwt != nullptr) {
    nlohmann::json claims = nlohmann::json::object();
    for (const auto& [key, value] : context.jwt->attributes) {
      std::visit([&](const auto& v) { claims[key] = v; }, value);
    }
    out["jwt"] = {{"idp", context.jwt->idp},
                  {"iss", context.jwt->issuer},
                  {"sub", context.jwt->subject},
                  {"attributes", std::move(claims)}};
  }
  if (context.saml != nullptr) out["saml"] = CallerSamlJson(*context.saml);
  return out;
}

// The scope asked for, or the service's default. Errors: DefaultTokenScope's, a blank scope.
Result<std::string> RequestedScope(const Policy& policy, const Service& service,
                                   const TokenRequest& request) {
  Result<std::string> scope = request.scope.empty() ? DefaultTokenScope(policy, service)
                                                    : CanonicalScope(request.scope);
  if (scope && scope->empty()) return MakeError(Errc::kInvalidRequest, "scope is blank");
  return scope;
}

asio::awaitable<HttpResponse> IssueToken(AgentState& state, const HttpRequest& request,
                                         const RequestContext& context, AuditRecord& audit) {
  Result<TokenRequest> parsed = ParseTokenRequest(request.body());
  if (!parsed) co_return ErrorResponse(parsed.error(), context);
  // Held across the broker's co_await: a reload must not free what this request decided on.
  const PinnedPolicy pinned = PinPolicy(state);
  Result<const Service*> service = IdentifyService(pinned, context, audit);
  if (!service) co_return ErrorResponse(service.error(), context);
  Result<std::string> scope = RequestedScope(*pinned.enforced, **service, *parsed);
  if (!scope) co_return ErrorResponse(scope.error(), context);
  audit.action = "token:" + *scope;
  const std::string workspace =
      parsed->workspace.empty() ? (*service)->workspace : parsed->workspace;
  audit.workspace = workspace;
  if (workspace.empty()) {
    co_return ErrorResponse(
        MakeError(Errc::kInvalidRequest,
                  "no workspace given and service '" + (*service)->name + "' has no default"), context);
  }
  const int min_ttl =
      parsed->min_ttl_seconds >= 0 ? parsed->min_ttl_seconds : state.config.tokens.min_ttl_seconds;
  Result<std::shared_ptr<const IssuedToken>> token =
      co_await DecideToken(state, pinned, context, workspace, *scope, min_ttl, audit);
  if (!token) co_return ErrorResponse(token.error(), context);
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
  AuditRecord audit = BeginAudit(context.socket, request, context);
  context.audit = &audit;
  const std::string_view path = SplitRequestTarget(request.target()).path;
  const bool health = path == "/healthz";
  const Status admitted = health ? Status::Ok() : AdmitAudited(state);
  CallerJwt caller_jwt;    // context.jwt points here while the request runs
  CallerSaml caller_saml;  // context.saml likewise
  Status identified = Status::Ok();
  if (!health && admitted) {
    identified = co_await IdentifyCallerJwt(state, request, TokenPlace::kAgentEndpoint, caller_jwt,
                                            context, audit);
    if (identified) identified = IdentifyCallerSaml(state, request, caller_saml, context, audit);
  }
  HttpResponse response;
  if (health) {
    audit.action = "healthz";
    response = request.method() == http::verb::get
                   ? JsonResponse(http::status::ok, {{"status", "ok"}})
                   : ErrorResponse(MakeError(Errc::kMethodNotAllowed, "use GET"), context);
  } else if (!admitted || !identified) {
    audit.action = path == "/v1/token" ? "token" : path == "/v1/whoami" ? "whoami" : "unknown";
    response = ErrorResponse(!admitted ? admitted.error() : identified.error(), context);
  } else if (path == "/v1/whoami") {
    audit.action = "whoami";
    response = request.method() == http::verb::get
                   ? JsonResponse(http::status::ok, WhoAmI(state, context, audit))
                   : ErrorResponse(MakeError(Errc::kMethodNotAllowed, "use GET"), context);
  } else if (path == "/v1/token") {
    audit.action = "token";
    if (request.method() == http::verb::post) {
      response = co_await IssueToken(state, request, context, audit);
    } else {
      response = ErrorResponse(MakeError(Errc::kMethodNotAllowed, "use POST"), context);
    }
  } else {
    audit.action = "unknown";
    response = ErrorResponse(MakeError(Errc::kNotFound, "no such endpoint"), context);
  }
  const bool releases = path == "/v1/token" && response.result() == http::status::ok;
  co_await FinishClientAnswer(state, audit, response, context, releases);
  context.jwt = nullptr;  // caller_jwt and caller_saml end with this frame
  context.saml = nullptr;
  co_return response;
}

asio::awaitable<void> FinishClientAnswer(AgentState& state, AuditRecord& audit,
                                         HttpResponse& response, RequestContext& context,
                                         bool releases) {
  FinishAudit(audit, response, context);
  context.audit = nullptr;  // the record is finished; nothing may note into it any more
  if (!audit.shadow_decision.empty() && audit.shadow_decision != audit.decision) {
    Log(LogLevel::kInfo, "shadow policy would " + audit.shadow_decision + " (" + audit.shadow_rule +
                             ") what was " + audit.decision + " (" + audit.rule + "): service '" +
                             audit.service + "' " + audit.action + ", request " +
                             context.request_id);
  }
  // A token is handed out only once its record is in the trail (per the fsync mode): when it
  // cannot be written, the caller gets 503 audit_unavailable instead, and that is recorded.
  const AuditTrail::Wait wait = releases ? AuditTrail::Wait::kRelease : AuditTrail::Wait::kQueued;
  const bool committed = co_await CommitAudit(state, audit, wait);
  if (!committed) {
    WipeString(response.body());
    const Error unavailable = AuditUnavailable();
    response = ErrorResponse(unavailable, context.request_id);
    audit.decision = "error";
    FinishAudit(audit, response, context, &unavailable);
    co_await CommitAudit(state, audit);
  }
}

}  // namespace dbproxy
