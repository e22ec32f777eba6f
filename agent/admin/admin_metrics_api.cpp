#include "agent/admin/admin_metrics_api.hpp"

#include <initializer_list>

#include "agent/clock.hpp"
#include "agent/server/responses.hpp"
#include "common/core/error_mapping.hpp"
#include "common/core/metrics_text.hpp"

namespace dbproxy {
namespace {

// One family with a single unlabelled sample.
void Single(MetricsTextWriter& out, std::string_view name, MetricType type,
            std::string_view help, double value) {
  out.Family(name, type, help);
  out.Sample(name, {}, value);
}

double Count(std::uint64_t n) { return static_cast<double>(n); }

// A family with one unlabelled sample, as a row of a table of them.
struct SingleMetric {
  std::string_view name;
  MetricType type;
  std::string_view help;
  double value;
};

void WriteSingles(MetricsTextWriter& out, std::initializer_list<SingleMetric> metrics) {
  for (const SingleMetric& metric : metrics) {
    Single(out, metric.name, metric.type, metric.help, metric.value);
  }
}

void WriteProcess(MetricsTextWriter& out, const AgentState& state) {
  out.Family("dbproxy_build_info", MetricType::kGauge, "Always 1; the version of dbproxyd.");
  out.Sample("dbproxy_build_info", {{"version", DBPROXY_VERSION}}, 1);
  Single(out, "dbproxy_start_time_seconds", MetricType::kGauge,
         "Start time of dbproxyd, Unix seconds.", static_cast<double>(state.started_at));
}

void WriteTokenCache(MetricsTextWriter& out, const AgentState& state) {
  const TokenBrokerStats stats = state.broker->stats();
  WriteSingles(
      out,
      {{"dbproxy_token_cache_hits_total", MetricType::kCounter,
        "Token requests answered from the cache.", Count(stats.hits)},
       {"dbproxy_token_cache_misses_total", MetricType::kCounter,
        "Token requests that found no usable cached token.", Count(stats.misses)},
       {"dbproxy_token_refreshes_total", MetricType::kCounter,
        "Refresh-ahead grants started while a cached token was still served.",
        Count(stats.refreshes)},
       {"dbproxy_token_grants_total", MetricType::kCounter,
        "Successful client-credentials grants at the workspaces.", Count(stats.grants)},
       {"dbproxy_token_grant_failures_total", MetricType::kCounter,
        "Failed client-credentials grants at the workspaces.", Count(stats.failures)},
       {"dbproxy_tokens_cached", MetricType::kGauge, "Tokens in the cache.",
        Count(state.broker->List().size())}});
}

void WriteConnections(MetricsTextWriter& out, const AgentState& state) {
  out.Family("dbproxy_active_connections", MetricType::kGauge, "Open connections, by socket.");
  for (const char* socket : {"agent", "admin", "loopback"}) {
    const std::size_t open = state.active_connections ? state.active_connections(socket) : 0;
    out.Sample("dbproxy_active_connections", {{"socket", socket}}, Count(open));
  }
  out.Family("dbproxy_connections_refused_total", MetricType::kCounter,
             "Connections closed before a request was read, by socket and the cap reached.");
  for (const char* socket : {"agent", "admin", "loopback"}) {
    const RefusedConnectionCounts refused =
        state.refused_connections ? state.refused_connections(socket) : RefusedConnectionCounts{};
    out.Sample("dbproxy_connections_refused_total", {{"socket", socket}, {"cap", "max_connections"}},
               Count(refused.over_total));
    out.Sample("dbproxy_connections_refused_total",
               {{"socket", socket}, {"cap", "max_connections_per_uid"}}, Count(refused.over_per_uid));
  }
  out.Sample("dbproxy_connections_refused_total",
             {{"socket", "loopback"}, {"cap", "max_connections_per_service"}},
             Count(state.refused_connections ? state.refused_connections("loopback").over_per_service
                                             : 0));
  out.Family("dbproxy_event_loop_connections", MetricType::kGauge,
             "Open agent.sock and loopback connections, by the event loop serving them.");
  const std::vector<std::size_t> loops =
      state.loop_connections ? state.loop_connections() : std::vector<std::size_t>();
  for (std::size_t loop = 0; loop < loops.size(); ++loop) {
    out.Sample("dbproxy_event_loop_connections", {{"loop", std::to_string(loop)}},
               Count(loops[loop]));
  }
}

void WriteAudit(MetricsTextWriter& out, const AgentState& state) {
  const AuditTrail* audit = state.audit.get();
  WriteSingles(
      out,
      {{"dbproxy_audit_healthy", MetricType::kGauge,
        "1 while every audit sink is written; 0 while one fails.",
        audit == nullptr || audit->healthy() ? 1.0 : 0.0},
       {"dbproxy_audit_queue_depth", MetricType::kGauge, "Audit records waiting to be written.",
        audit ? Count(audit->queue_depth()) : 0},
       {"dbproxy_audit_write_failures_total", MetricType::kCounter,
        "Failed writes to the audit file.", audit ? Count(audit->write_failures()) : 0},
       {"dbproxy_audit_journal_failures_total", MetricType::kCounter,
        "Failed sends to journald.", audit ? Count(audit->journal_failures()) : 0},
       {"dbproxy_audit_records_dropped_total", MetricType::kCounter,
        "Audit records dropped (queue full while failing open, or after stop).",
        audit ? Count(audit->records_dropped()) : 0}});
}

void WritePolicy(MetricsTextWriter& out, const AgentState& state) {
  out.Family("dbproxy_policy_info", MetricType::kGauge, "Always 1; the enforced policy revision.");
  const std::shared_ptr<const Policy> policy = state.EnforcedPolicy();
  out.Sample("dbproxy_policy_info", {{"revision", policy ? policy->revision : ""}}, 1);
  WriteSingles(
      out,
      {{"dbproxy_policy_loaded_timestamp_seconds", MetricType::kGauge,
        "When the enforced policy was loaded, Unix seconds.",
        static_cast<double>(state.policy_loaded_at)},
       {"dbproxy_policy_reloads_total", MetricType::kCounter, "Successful policy reloads.",
        Count(state.policy_reloads)},
       {"dbproxy_policy_reload_failures_total", MetricType::kCounter,
        "Rejected policy reloads (the previous policy stayed).",
        Count(state.policy_reload_failures)},
       {"dbproxy_policy_last_reload_ok", MetricType::kGauge,
        "1 when the last reload succeeded (or none failed since), else 0.",
        state.policy_error.empty() ? 1.0 : 0.0}});
}

void WriteRuntime(MetricsTextWriter& out, const AgentState& state) {
  const std::int64_t now = NowUnix();
  std::size_t switches = 0;
  for (const MaintenanceEntry& entry : state.runtime->maintenance().entries()) {
    if (entry.ActiveAt(now)) ++switches;
  }
  std::size_t grants = 0;
  for (const Grant& grant : state.runtime->grants().grants()) {
    if (grant.ActiveAt(now)) ++grants;
  }
  Single(out, "dbproxy_maintenance_switches_active", MetricType::kGauge,
         "Maintenance switches in effect.", Count(switches));
  Single(out, "dbproxy_grants_active", MetricType::kGauge, "Runtime grants in effect.",
         Count(grants));
  Single(out, "dbproxy_workspaces", MetricType::kGauge, "Enrolled workspaces.",
         Count(state.store->workspace_count()));
  Single(out, "dbproxy_credentials", MetricType::kGauge, "Enrolled credentials.",
         Count(state.store->credential_count()));
}

}  // namespace

std::string RenderMetrics(const AgentState& state) {
  MetricsTextWriter out;
  WriteProcess(out, state);
  state.metrics.Write(out);
  WriteTokenCache(out, state);
  WriteConnections(out, state);
  WriteAudit(out, state);
  WritePolicy(out, state);
  WriteRuntime(out, state);
  return out.Take();
}

std::optional<HttpResponse> HandleMetricsAdmin(const AgentState& state, const HttpRequest& request,
                                               const std::vector<std::string>& path,
                                               AuditRecord& audit) {
  if (path.size() != 1 || path[0] != "metrics") return std::nullopt;
  audit.action = "admin.metrics";
  if (request.method() != http::verb::get) {
    const Error error = MakeError(Errc::kMethodNotAllowed, "use GET /metrics");
    audit.error_code = std::string(ToHttpError(error.code).code);
    return ErrorResponse(error, audit.request_id);
  }
  HttpResponse response(http::status::ok, 11);
  response.set(http::field::content_type, kMetricsContentType);
  response.body() = RenderMetrics(state);
  return response;
}

nlohmann::json StatusMetrics(const AgentState& state) {
  const RequestTotals requests = state.metrics.totals();
  const TokenBrokerStats tokens = state.broker->stats();
  const std::uint64_t lookups = tokens.hits + tokens.misses;
  const AuditTrail* audit = state.audit.get();
  auto connections = [&](const char* socket) {
    return state.active_connections ? state.active_connections(socket) : 0;
  };
  return {{"requests",
           {{"total", requests.total},
            {"allowed", requests.allowed},
            {"denied", requests.denied},
            {"errors", requests.errors}}},
          {"token_cache",
           {{"hits", tokens.hits},
            {"misses", tokens.misses},
            {"refreshes", tokens.refreshes},
            {"grants", tokens.grants},
            {"failures", tokens.failures},
            {"hit_ratio", lookups == 0 ? nlohmann::json(nullptr)
                                       : nlohmann::json(static_cast<double>(tokens.hits) /
                                                        static_cast<double>(lookups))}}},
          {"audit",
           {{"enabled", audit != nullptr},
            {"healthy", audit == nullptr || audit->healthy()},
            {"queue_depth", audit ? audit->queue_depth() : 0},
            {"write_failures", audit ? audit->write_failures() : 0},
            {"journal_failures", audit ? audit->journal_failures() : 0}}},
          {"connections", {{"agent", connections("agent")}, {"admin", connections("admin")}}}};
}

}  // namespace dbproxy
