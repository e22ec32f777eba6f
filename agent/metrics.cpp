#include "agent/metrics.hpp"

#include <array>
#include <vector>

#include "common/policy/actions.hpp"

namespace dbproxy {
namespace {

constexpr char kOther[] = "_other";

// Seconds; from a cached token answer (~100 µs) to a slow workspace call.
std::vector<double> LatencyBounds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

// The agent's own endpoints: a fixed set, whatever the request said.
bool IsAgentAction(std::string_view action) {
  static constexpr std::array<std::string_view, 6> kFixed = {"healthz", "whoami", "token",
                                                             "unknown", "proxy",  "admin"};
  for (std::string_view fixed : kFixed) {
    if (action == fixed) return true;
  }
  // admin.* names are chosen by the admin handlers, never by the caller.
  return action.starts_with("admin.") && action.size() <= 32;
}

// Scopes a caller may ask for by name; any other scope text (the caller chooses it) is folded.
bool IsWellKnownScope(std::string_view scope) {
  static constexpr std::array<std::string_view, 9> kScopes = {
      "all-apis", "sql", "clusters", "jobs", "openid", "email", "profile", "offline_access",
      "all-apis sql"};
  for (std::string_view known : kScopes) {
    if (scope == known) return true;
  }
  return false;
}

std::string LabelOrNone(const std::string& value) { return value.empty() ? "none" : value; }

}  // namespace

std::string MetricActionLabel(std::string_view action) {
  if (action.starts_with("token:")) {
    return IsWellKnownScope(action.substr(6)) ? std::string(action) : "token:_other";
  }
  if (IsAgentAction(action) || KnownActionIndex(action) >= 0) return std::string(action);
  return action.empty() ? "none" : kOther;
}

Metrics::Metrics(std::size_t max_series)
    : max_series_(max_series), upstream_latency_(LatencyBounds()) {}

void Metrics::ObserveRequest(const AuditRecord& record) {
  SeriesKey key{record.socket, LabelOrNone(record.decision), MetricActionLabel(record.action),
                LabelOrNone(record.service)};
  std::lock_guard lock(mutex_);
  auto found = requests_.find(key);
  if (found == requests_.end() && requests_.size() >= max_series_) {
    std::get<2>(key) = kOther;
    std::get<3>(key) = kOther;
  }
  ++requests_[key];
  if (record.status > 0) ++responses_[{record.socket, record.status}];

  auto duration = durations_.find(record.socket);
  if (duration == durations_.end()) {
    duration = durations_.emplace(record.socket, MetricHistogram(LatencyBounds())).first;
  }
  duration->second.Observe(static_cast<double>(record.latency_us) / 1e6);
  if (record.upstream_status != 0 || record.upstream_latency_us > 0) {
    upstream_latency_.Observe(static_cast<double>(record.upstream_latency_us) / 1e6);
  }

  ++totals_.total;
  if (record.decision == "allow") ++totals_.allowed;
  if (record.decision == "deny") ++totals_.denied;
  if (record.decision == "error" || record.status >= 500) ++totals_.errors;
}

RequestTotals Metrics::totals() const {
  std::lock_guard lock(mutex_);
  return totals_;
}

void Metrics::Write(MetricsTextWriter& writer) const {
  std::lock_guard lock(mutex_);
  writer.Family("dbproxy_requests_total", MetricType::kCounter,
                "Requests answered, by socket, policy decision, action and service.");
  for (const auto& [key, count] : requests_) {
    const auto& [socket, decision, action, service] = key;
    writer.Sample("dbproxy_requests_total",
                  {{"socket", socket}, {"decision", decision}, {"action", action},
                   {"service", service}},
                  static_cast<double>(count));
  }
  writer.Family("dbproxy_responses_total", MetricType::kCounter,
                "Responses sent, by socket and HTTP status code.");
  for (const auto& [key, count] : responses_) {
    writer.Sample("dbproxy_responses_total",
                  {{"socket", key.first}, {"code", std::to_string(key.second)}},
                  static_cast<double>(count));
  }
  writer.Family("dbproxy_request_duration_seconds", MetricType::kHistogram,
                "Time from reading a request's header to its audit record, by socket.");
  for (const auto& [socket, histogram] : durations_) {
    writer.Histogram("dbproxy_request_duration_seconds", {{"socket", socket}}, histogram);
  }
  writer.Family("dbproxy_upstream_latency_seconds", MetricType::kHistogram,
                "Time proxied calls waited for the workspace.");
  writer.Histogram("dbproxy_upstream_latency_seconds", {}, upstream_latency_);
}

}  // namespace dbproxy
