#include "agent/admin/admin_policy_api.hpp"

#include "agent/clock.hpp"
#include "agent/server/peer.hpp"
#include "agent/server/responses.hpp"
#include "common/policy/actions.hpp"
#include "common/calls/classify.hpp"

namespace dbproxy {
namespace {

nlohmann::json PolicySummary(const AgentState& state) {
  const Policy& policy = *state.policy;
  nlohmann::json out = {{"revision", policy.revision},
                        {"loaded_at", state.policy_loaded_at},
                        {"services", policy.services.size()},
                        {"roles", policy.roles.size()},
                        {"rules", policy.rules.size()},
                        {"reloads", state.policy_reloads},
                        {"reload_failures", state.policy_reload_failures},
                        {"shadow_revision", nullptr},
                        {"last_error", nullptr}};
  if (state.shadow_policy) out["shadow_revision"] = state.shadow_policy->revision;
  if (!state.policy_error.empty()) out["last_error"] = state.policy_error;
  return out;
}

// The caller an explain request describes. Only the fields given are set; names are looked up.
CallerIdentity ExplainedCaller(const nlohmann::json& body) {
  CallerIdentity id;
  id.pid = 0;
  id.uid = static_cast<uid_t>(body.value("uid", std::int64_t{-1}));
  id.gid = static_cast<gid_t>(body.value("gid", std::int64_t{-1}));
  id.user = body.value("user", body.contains("uid") ? UserName(id.uid) : std::string());
  id.group = body.contains("gid") ? GroupName(id.gid) : std::string();
  id.unit = body.value("unit", "");
  id.exe = body.value("exe", "");
  return id;
}

Result<RequestFacts> ExplainedFacts(const nlohmann::json& body, const Service& service) {
  RequestFacts facts;
  facts.now_unix = body.value("time", NowUnix());
  facts.workspace = body.value("workspace", service.workspace);
  if (body.contains("action")) {
    Result<std::string> action = NormalizeActionPattern(body.value("action", ""));
    if (!action) return std::move(action).error();
    facts.action = *action;
  } else {
    Result<Classification> call =
        ClassifyCall(body.value("method", ""), body.value("path", ""));
    if (!call) return std::move(call).error();
    facts.action = call->action;
    facts.method = body.value("method", "");
    facts.path = call->normalized_path;
  }
  if (body.contains("row_limit")) facts.row_limit = body.value("row_limit", std::int64_t{0});
  if (body.contains("byte_limit")) facts.byte_limit = body.value("byte_limit", std::int64_t{0});
  if (body.contains("warehouse")) facts.warehouse = body.value("warehouse", "");
  return facts;
}

Status CheckExplainBody(const nlohmann::json& body) {
  static const std::vector<std::string> kStrings = {"user", "unit", "exe", "service", "workspace",
                                                    "action", "method", "path", "warehouse"};
  static const std::vector<std::string> kNumbers = {"uid", "gid", "row_limit", "byte_limit",
                                                    "time"};
  for (const auto& [key, value] : body.items()) {
    const bool is_string = std::find(kStrings.begin(), kStrings.end(), key) != kStrings.end();
    const bool is_number = std::find(kNumbers.begin(), kNumbers.end(), key) != kNumbers.end();
    if (!is_string && !is_number) return MakeError(Errc::kInvalidRequest, "unknown field '" + key + "'");
    if ((is_string && !value.is_string()) || (is_number && !value.is_number_integer())) {
      return MakeError(Errc::kInvalidRequest, "'" + key + "' has the wrong type");
    }
  }
  if (!body.contains("action") && !(body.contains("method") && body.contains("path"))) {
    return MakeError(Errc::kInvalidRequest, "give an action, or a method and a path");
  }
  return Status::Ok();
}

HttpResponse Explain(AgentState& state, const HttpRequest& request, const RequestContext& context,
                     AuditRecord& audit) {
  Result<nlohmann::json> body = ParseJsonObject(request.body());
  if (!body) return ErrorResponse(body.error(), context.request_id);
  if (Status valid = CheckExplainBody(*body); !valid) {
    return ErrorResponse(valid.error(), context.request_id);
  }
  const Policy& policy = *state.policy;
  const CallerIdentity caller = ExplainedCaller(*body);
  const std::vector<std::string> no_groups;
  nlohmann::json out = {{"policy_revision", policy.revision}, {"service", nullptr}};
  const Service* service = nullptr;
  if (body->contains("service")) {
    service = policy.FindService(body->value("service", ""));
    if (service == nullptr) {
      return ErrorResponse(MakeError(Errc::kNotFound, "no service '" +
                                                          body->value("service", "") + "'"),
                           context.request_id);
    }
    out["matched_by"] = "named in the request";
  } else {
    Result<const Service*> matched = MatchService(policy, caller, no_groups);
    if (!matched) {
      out["decision"] = {{"effect", "deny"}, {"rule", "unidentified"},
                         {"reason", matched.error().message}};
      return JsonResponse(http::status::ok, out);
    }
    service = *matched;
    out["matched_by"] = service->match.Describe() + " (" + service->source + ")";
  }
  audit.service = service->name;
  out["service"] = service->name;
  out["attributes"] = service->attributes;
  Result<RequestFacts> facts = ExplainedFacts(*body, *service);
  if (!facts) return ErrorResponse(facts.error(), context.request_id);
  out["action"] = facts->action;
  out["workspace"] = facts->workspace;
  const std::vector<std::string> granted =
      state.runtime->grants().ActiveRoles(service->name, facts->now_unix);
  out["granted_roles"] = granted;
  if (auto maintenance =
          state.runtime->maintenance().Find(service->name, facts->workspace, facts->now_unix)) {
    out["decision"] = {{"effect", "deny"}, {"rule", "maintenance"},
                       {"reason", "maintenance: " + maintenance->reason}};
    return JsonResponse(http::status::ok, out);
  }
  const EvalInput input{.service = service, .identity = &caller, .group_names = &no_groups,
                        .facts = &*facts, .granted_roles = &granted};
  std::vector<TraceStep> trace;
  Decision decision = Evaluate(policy, input, &trace);
  if (decision.allow && facts->action.starts_with("token:")) {
    if (std::string bypass = RawTokenBypass(policy, input, facts->action.substr(6));
        !bypass.empty()) {
      trace.push_back(TraceStep{"raw token", "refused: '" + bypass + "' restricts calls it could make"});
      decision = Decision{.allow = false, .rule = bypass,
                          .reason = "a raw token would bypass '" + bypass + "'; use proxy mode",
                          .role = nullptr};
    }
  }
  out["decision"] = {{"effect", decision.allow ? "allow" : "deny"},
                     {"rule", decision.rule},
                     {"reason", decision.reason}};
  if (decision.role != nullptr) out["credential"] = decision.role->credential;
  nlohmann::json steps = nlohmann::json::array();
  for (const TraceStep& step : trace) {
    steps.push_back({{"step", step.subject}, {"outcome", step.outcome}});
  }
  out["trace"] = std::move(steps);
  return JsonResponse(http::status::ok, out);
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
    if (!reloaded) return ErrorResponse(reloaded.error(), context.request_id);
    audit.detail = {{"revision", state.policy->revision}};
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
