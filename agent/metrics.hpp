// Metrics: the agent's request counters and latency histograms, fed from every finished audit
// record, and written in the Prometheus text format for GET /metrics on the admin socket.
//
// Label cardinality is bounded: `action` is reduced to a fixed vocabulary (call-level actions,
// the agent's own endpoints, "token:<scope>" for well-known scopes, else "_other"); `service`
// comes from the policy. At most `max_series` distinct label sets are kept; requests beyond
// that are counted under service="_other", action="_other".
// Scrape-time gauges (connections, token cache, audit, policy) are not kept here: the admin
// handler reads them from their owners.
// Threading: any thread (CommitAudit runs on every event loop); one mutex, held for the map
// updates only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "common/audit/audit_record.hpp"
#include "common/core/metrics_text.hpp"

namespace dbproxy {

struct RequestTotals {
  std::uint64_t total = 0;
  std::uint64_t allowed = 0;  // decision "allow"
  std::uint64_t denied = 0;   // decision "deny"
  std::uint64_t errors = 0;   // status >= 500, or decision "error"
};

class Metrics {
 public:
  static constexpr std::size_t kDefaultMaxSeries = 1000;
  explicit Metrics(std::size_t max_series = kDefaultMaxSeries);

  // Counts one finished request (either socket, proxied calls included).
  void ObserveRequest(const AuditRecord& record);

  // dbproxy_requests_total, dbproxy_responses_total, dbproxy_request_duration_seconds and
  // dbproxy_upstream_latency_seconds.
  void Write(MetricsTextWriter& writer) const;

  RequestTotals totals() const;

 private:
  // (socket, decision, action, service)
  using SeriesKey = std::tuple<std::string, std::string, std::string, std::string>;

  std::size_t max_series_;
  mutable std::mutex mutex_;  // guards what follows
  std::map<SeriesKey, std::uint64_t> requests_;
  std::map<std::pair<std::string, int>, std::uint64_t> responses_;  // (socket, status)
  std::map<std::string, MetricHistogram> durations_;                 // by socket
  MetricHistogram upstream_latency_;
  RequestTotals totals_;
};

// The `action` label for an audit record's action (see the header comment).
std::string MetricActionLabel(std::string_view action);

}  // namespace dbproxy
