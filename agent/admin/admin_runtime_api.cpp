#include "agent/admin/admin_runtime_api.hpp"

#include <utility>

#include "agent/clock.hpp"
#include "agent/log.hpp"
#include "agent/server/responses.hpp"
#include "agent/state/runtime_state.hpp"
#include "common/runtime/grants.hpp"
#include "common/calls/http_target.hpp"
#include "common/runtime/maintenance.hpp"
#include "common/runtime/runtime_api.hpp"

namespace dbproxy {
namespace {

// Who made the change, from the kernel's identity of the caller.
std::string Actor(const RequestContext& context) {
  const CallerIdentity& id = context.peer.identity();
  return id.user.empty() ? "uid:" + std::to_string(id.uid) : id.user;
}

HttpResponse Fail(const Error& error, const RequestContext& context) {
  return ErrorResponse(error, context);
}

HttpResponse Fail(Errc code, std::string message, const RequestContext& context) {
  return ErrorResponse(MakeError(code, std::move(message)), context);
}

// Drops what has expired before a listing; a failed write is logged, not shown: the listing
// then filters by time itself.
void PruneForListing(RuntimeState& runtime, std::int64_t now) {
  if (Status pruned = runtime.Prune(now); !pruned) {
    Log(LogLevel::kWarning, "cannot prune expired runtime state: " +
                                (pruned.error().log_detail.empty() ? pruned.error().message
                                                                   : pruned.error().log_detail));
  }
}

HttpResponse ListGrants(RuntimeState& runtime) {
  const std::int64_t now = NowUnix();
  PruneForListing(runtime, now);
  nlohmann::json list = nlohmann::json::array();
  for (const Grant& grant : runtime.grants().grants()) {
    if (grant.ActiveAt(now)) list.push_back(GrantToJson(grant));
  }
  return JsonResponse(http::status::ok, {{"grants", std::move(list)}});
}

HttpResponse AddGrant(AgentState& state, const HttpRequest& request,
                      const RequestContext& context, AuditRecord& audit) {
  Result<GrantRequest> parsed = ParseGrantRequest(request.body());
  if (!parsed) return Fail(parsed.error(), context);
  audit.service = parsed->service;
  audit.detail = {{"role", parsed->role},
                  {"for_seconds", std::to_string(parsed->for_seconds)},
                  {"reason", parsed->reason}};
  const std::shared_ptr<const Policy> policy = state.EnforcedPolicy();
  if (policy == nullptr || policy->FindService(parsed->service) == nullptr) {
    return Fail(Errc::kNotFound, "no service '" + parsed->service + "' in the current policy",
                context);
  }
  if (policy->FindRole(parsed->role) == nullptr) {
    return Fail(Errc::kNotFound, "no role '" + parsed->role + "' in the current policy", context);
  }
  const std::int64_t now = NowUnix();
  Grant grant{.service = std::move(parsed->service),
              .role = std::move(parsed->role),
              .reason = std::move(parsed->reason),
              .granted_by = Actor(context),
              .granted_at = now,
              .expires_at = parsed->for_seconds > 0 ? now + parsed->for_seconds : 0};
  nlohmann::json body = {{"grant", GrantToJson(grant)}};
  if (Status granted = state.runtime->Grant(std::move(grant)); !granted) {
    return Fail(granted.error(), context);
  }
  return JsonResponse(http::status::created, body);
}

HttpResponse RevokeGrant(AgentState& state, const RequestContext& context,
                         const std::string& service, const std::string& role) {
  Result<Grant> revoked = state.runtime->Revoke(service, role);
  if (!revoked) return Fail(revoked.error(), context);
  return JsonResponse(http::status::ok, {{"revoked", GrantToJson(*revoked)}});
}

void AuditTarget(AuditRecord& audit, MaintenanceScope scope, const std::string& target) {
  if (scope == MaintenanceScope::kService) audit.service = target;
  if (scope == MaintenanceScope::kWorkspace) audit.workspace = target;
}

HttpResponse ListMaintenance(RuntimeState& runtime) {
  const std::int64_t now = NowUnix();
  PruneForListing(runtime, now);
  nlohmann::json list = nlohmann::json::array();
  for (const MaintenanceEntry& entry : runtime.maintenance().entries()) {
    if (entry.ActiveAt(now)) list.push_back(MaintenanceEntryToJson(entry));
  }
  return JsonResponse(http::status::ok, {{"maintenance", std::move(list)}});
}

// A switch for a name nobody uses would silently do nothing: refuse typos.
Status CheckMaintenanceTarget(const AgentState& state, const MaintenanceRequest& request) {
  const std::shared_ptr<const Policy> policy = state.EnforcedPolicy();
  if (request.scope == MaintenanceScope::kService &&
      (policy == nullptr || policy->FindService(request.target) == nullptr)) {
    return MakeError(Errc::kNotFound, "no service '" + request.target + "' in the current policy");
  }
  if (request.scope == MaintenanceScope::kWorkspace &&
      (state.store == nullptr || state.store->HostOf(request.target).empty())) {
    return MakeError(Errc::kNotFound, "no workspace '" + request.target + "' is enrolled");
  }
  return Status::Ok();
}

HttpResponse SetMaintenance(AgentState& state, const HttpRequest& request,
                            const RequestContext& context, AuditRecord& audit) {
  Result<MaintenanceRequest> parsed = ParseMaintenanceRequest(request.body());
  if (!parsed) return Fail(parsed.error(), context);
  AuditTarget(audit, parsed->scope, parsed->target);
  audit.detail = {{"scope", std::string(ScopeName(parsed->scope))},
                  {"target", parsed->target},
                  {"for_seconds", std::to_string(parsed->for_seconds)},
                  {"reason", parsed->reason}};
  if (Status known = CheckMaintenanceTarget(state, *parsed); !known) {
    return Fail(known.error(), context);
  }
  const std::int64_t now = NowUnix();
  MaintenanceEntry entry{.scope = parsed->scope,
                         .target = std::move(parsed->target),
                         .reason = std::move(parsed->reason),
                         .set_by = Actor(context),
                         .since = now,
                         .until = parsed->for_seconds > 0 ? now + parsed->for_seconds : 0};
  nlohmann::json body = {{"maintenance", MaintenanceEntryToJson(entry)}};
  if (Status set = state.runtime->SetMaintenance(std::move(entry)); !set) {
    return Fail(set.error(), context);
  }
  Log(LogLevel::kWarning, "maintenance switched on: " + body["maintenance"].dump());
  return JsonResponse(http::status::created, body);
}

HttpResponse ClearMaintenance(AgentState& state, const HttpRequest& request,
                              const RequestContext& context, AuditRecord& audit) {
  Result<MaintenanceKey> key = ParseMaintenanceQuery(SplitRequestTarget(request.target()).query);
  if (!key) return Fail(key.error(), context);
  AuditTarget(audit, key->scope, key->target);
  audit.detail = {{"scope", std::string(ScopeName(key->scope))}, {"target", key->target}};
  Result<MaintenanceEntry> cleared = state.runtime->ClearMaintenance(key->scope, key->target);
  if (!cleared) return Fail(cleared.error(), context);
  Log(LogLevel::kInfo, "maintenance switched off: " + MaintenanceEntryToJson(*cleared).dump());
  return JsonResponse(http::status::ok, {{"cleared", MaintenanceEntryToJson(*cleared)}});
}

std::optional<HttpResponse> RouteGrants(AgentState& state, const HttpRequest& request,
                                        const RequestContext& context,
                                        const std::vector<std::string>& path, AuditRecord& audit) {
  const http::verb method = request.method();
  if (path.size() == 2) {
    if (method == http::verb::get) {
      audit.action = "admin.grants";
      return ListGrants(*state.runtime);
    }
    audit.action = "admin.grant";
    if (method == http::verb::post) return AddGrant(state, request, context, audit);
  } else {
    audit.action = "admin.revoke";
    audit.service = path[2];
    audit.detail = {{"role", path[3]}};
    if (method == http::verb::delete_) return RevokeGrant(state, context, path[2], path[3]);
  }
  return Fail(Errc::kMethodNotAllowed, "method not allowed on this path", context);
}

std::optional<HttpResponse> RouteMaintenance(AgentState& state, const HttpRequest& request,
                                             const RequestContext& context, AuditRecord& audit) {
  switch (request.method()) {
    case http::verb::get:
      audit.action = "admin.maintenance";
      return ListMaintenance(*state.runtime);
    case http::verb::post:
      audit.action = "admin.maintenance.on";
      return SetMaintenance(state, request, context, audit);
    case http::verb::delete_:
      audit.action = "admin.maintenance.off";
      return ClearMaintenance(state, request, context, audit);
    default:
      audit.action = "admin.maintenance";
      return Fail(Errc::kMethodNotAllowed, "method not allowed on this path", context);
  }
}

std::optional<HttpResponse> Route(AgentState& state, const HttpRequest& request,
                                  const RequestContext& context,
                                  const std::vector<std::string>& path, AuditRecord& audit) {
  if (path.size() < 2 || path[0] != "v1") return std::nullopt;
  if (path[1] == "grants" && (path.size() == 2 || path.size() == 4)) {
    return RouteGrants(state, request, context, path, audit);
  }
  if (path[1] == "maintenance" && path.size() == 2) {
    return RouteMaintenance(state, request, context, audit);
  }
  return std::nullopt;
}

}  // namespace

asio::awaitable<std::optional<HttpResponse>> HandleRuntimeAdmin(
    AgentState& state, HttpRequest& request, const RequestContext& context,
    const std::vector<std::string>& path, AuditRecord& audit) {
  // Everything here is synchronous (see RuntimeState's threading note); the coroutine shape is
  // what the router awaits.
  std::optional<HttpResponse> response = Route(state, request, context, path, audit);
  co_return response;
}

}  // namespace dbproxy
