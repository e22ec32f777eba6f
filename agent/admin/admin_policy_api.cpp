#include "agent/admin/admin_policy_api.hpp"

#include "agent/clock.hpp"
#include "agent/server/peer.hpp"
#include "agent/server/responses.hpp"
#include "common/core/json_fields.hpp"
#include "common/policy/decide.hpp"
#include "common/policy/explain_request.hpp"

namespace dbproxy {
namespace {

nlohmann::json PolicySummary(const AgentState& state) {
  const PinnedPolicy pinned = state.Policies();
  const Policy& policy = *pinned.enforced;
  nlohmann::json out = {{"revision", policy.revision},
                        {"loaded_at", state.policy_loaded_at},
                        {"services", policy.services.size()},
                        {"roles", policy.roles.size()},
                        {"rules", policy.rules.size()},
                        {"reloads", state.policy_reloads},
                        {"reload_failures", state.policy_reload_failures},
                        {"shadow_revision", nullptr},
                        {"last_error", nullptr}};
  if (pinned.shadow) out["shadow_revision"] = pinned.shadow->revision;
  if (!state.policy_error.empty()) out["last_error"] = state.policy_error;
  return out;
}

// The caller an explain request describes. Only the fields given are set; names are looked up.
CallerIdentity ExplainedCaller(const ExplainRequest& request) {
  CallerIdentity id;
  id.pid = 0;
  id.uid = static_cast<uid_t>(request.uid.value_or(-1));
  id.gid = static_cast<gid_t>(request.gid.value_or(-1));
  id.user = request.user.value_or(request.uid ? UserName(id.uid) : std::string());
  id.group = request.gid ? GroupName(id.gid) : std::string();
  id.unit = request.unit;
  id.exe = request.exe;
  return id;
}

nlohmann::json DecisionJson(const Policy& policy, const RequestFacts& facts,
                            const CallDecision& decision,
                            const std::vector<TraceStep>& trace) {
  nlohmann::json out = {{"policy_revision", policy.revision}, {"service", nullptr}};
  if (decision.service != nullptr) {
    out["service"] = decision.service_name;
    out["matched_by"] = decision.matched_by;
    out["attributes"] = decision.service->attributes;
    out["granted_roles"] = decision.granted_roles;
  }
  out["action"] = facts.action;
  out["workspace"] = decision.service != nullptr ? decision.workspace : facts.workspace;
  out["decision"] = {{"effect", decision.allow ? "allow" : "deny"},
                     {"rule", decision.rule},
                     {"reason", decision.reason}};
  if (decision.allow) {
    out["role"] = decision.role;
    out["credential"] = decision.credential;
    if (!decision.clamps.empty()) out["clamps"] = decision.clamps;
  }
  if (decision.error.retry_after_seconds > 0) {
    out["retry_after_seconds"] = decision.error.retry_after_seconds;
  }
  nlohmann::json steps = nlohmann::json::array();
  for (const TraceStep& step : trace) {
    steps.push_back({{"step", step.subject}, {"outcome", step.outcome}});
  }
  out["trace"] = std::move(steps);
  return out;
}

// The decision a request with these facts gets (the same Decide), with its trace.
HttpResponse Explain(AgentState& state, const HttpRequest& request, const RequestContext& context,
                     AuditRecord& audit) {
  const JsonContext where{.code = Errc::kInvalidRequest, .where = "request body"};
  Result<nlohmann::json> body = ParseJsonBody(request.body(), where);
  if (!body) return ErrorResponse(body.error(), context);
  Result<ExplainRequest> explain = ParseExplainRequest(*body, NowUnix());
  if (!explain) return ErrorResponse(explain.error(), context);
  const std::shared_ptr<const Policy> policy = state.EnforcedPolicy();
  const CallerIdentity caller = ExplainedCaller(*explain);
  const DecisionSubject subject{.identity = &caller,
                                .service_name = explain->service,
                                .jwt = explain->jwt ? &*explain->jwt : nullptr,
                                .jwt_idp = explain->jwt_idp,
                                .saml = explain->saml ? &*explain->saml : nullptr,
                                .saml_idp = explain->saml_idp};
  const RuntimeState::Pinned pinned_runtime = state.runtime->Pin();
  const RuntimeView runtime = pinned_runtime.view();
  std::vector<TraceStep> trace;
  const CallDecision decision = Decide(*policy, runtime, subject, explain->facts, &trace);
  if (decision.service == nullptr && !explain->service.empty()) {
    return ErrorResponse(decision.error, context);  // an unknown named service
  }
  audit.service = decision.service_name;
  return JsonResponse(http::status::ok, DecisionJson(*policy, explain->facts, decision, trace));
}

}  // namespace

std::optional<HttpResponse> HandlePolicyAdmin(AgentState& state, HttpRequest& request,
                                              const RequestContext& context,
                                              const std::vector<std::string>& path,
                                              AuditRecord& audit) {
  const bool post = request.method() == http::verb::post;
  if (path == std::vector<std::string>{"v1", "reload"} && post) {
    audit.action = "admin.reload";
    Status reloaded = state.reload_policy("admin API");
    if (!reloaded) return ErrorResponse(reloaded.error(), context);
    audit.detail = {{"revision", state.EnforcedPolicy()->revision}};
    return JsonResponse(http::status::ok, PolicySummary(state));
  }
  if (path == std::vector<std::string>{"v1", "policy"} && request.method() == http::verb::get) {
    audit.action = "admin.policy";
    return JsonResponse(http::status::ok, PolicySummary(state));
  }
  if (path == std::vector<std::string>{"v1", "explain"} && post) {
    audit.action = "admin.explain";
    return Explain(state, request, context, audit);
  }
  return std::nullopt;
}

}  // namespace dbproxy
