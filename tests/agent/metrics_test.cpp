#include "agent/metrics.hpp"

#include <gtest/gtest.h>

namespace dbproxy {
namespace {

AuditRecord Record(std::string socket, std::string decision, std::string action,
                   std::string service, int status = 200) {
  AuditRecord record;
  record.socket = std::move(socket);
  record.decision = std::move(decision);
  record.action = std::move(action);
  record.service = std::move(service);
  record.status = status;
  record.latency_us = 1500;
  return record;
}

std::string Render(const Metrics& metrics) {
  MetricsTextWriter writer;
  metrics.Write(writer);
  return writer.Take();
}

TEST(MetricsTest, ActionLabelsComeFromAFixedVocabulary) {
  const struct {
    const char* action;
    const char* label;
  } cases[] = {
      {"token:all-apis", "token:all-apis"}, {"token:sql", "token:sql"},
      {"token:x-chosen-by-caller", "token:_other"}, {"jobs.run", "jobs.run"},
      {"api.unknown", "api.unknown"}, {"healthz", "healthz"}, {"admin.enroll", "admin.enroll"},
      {"whatever", "_other"}, {"", "none"},
  };
  for (const auto& c : cases) EXPECT_EQ(MetricActionLabel(c.action), c.label) << c.action;
}

TEST(MetricsTest, CountsRequestsByLabelsAndTotals) {
  Metrics metrics;
  metrics.ObserveRequest(Record("agent", "allow", "token:sql", "billing"));
  metrics.ObserveRequest(Record("agent", "allow", "token:sql", "billing"));
  metrics.ObserveRequest(Record("agent", "deny", "jobs.run", "billing", 403));
  metrics.ObserveRequest(Record("admin", "", "admin.status", "", 200));
  EXPECT_EQ(metrics.totals().total, 4U);
  EXPECT_EQ(metrics.totals().allowed, 2U);
  EXPECT_EQ(metrics.totals().denied, 1U);
  EXPECT_EQ(metrics.totals().errors, 0U);
  const std::string text = Render(metrics);
  EXPECT_NE(text.find("dbproxy_requests_total{socket=\"agent\",decision=\"allow\","
                      "action=\"token:sql\",service=\"billing\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("dbproxy_requests_total{socket=\"admin\",decision=\"none\","
                      "action=\"admin.status\",service=\"none\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("dbproxy_responses_total{socket=\"agent\",code=\"403\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("dbproxy_request_duration_seconds_bucket{socket=\"agent\",le=\"0.0025\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("dbproxy_upstream_latency_seconds_count 0\n"), std::string::npos);
}

TEST(MetricsTest, SeriesBeyondTheCapFoldIntoOther) {
  Metrics metrics(/*max_series=*/2);
  metrics.ObserveRequest(Record("agent", "allow", "token:sql", "a"));
  metrics.ObserveRequest(Record("agent", "allow", "token:sql", "b"));
  metrics.ObserveRequest(Record("agent", "allow", "token:sql", "c"));
  metrics.ObserveRequest(Record("agent", "deny", "jobs.run", "d", 403));
  metrics.ObserveRequest(Record("agent", "allow", "token:sql", "a"));  // existing: still its own
  const std::string text = Render(metrics);
  EXPECT_NE(text.find("action=\"token:sql\",service=\"a\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("decision=\"allow\",action=\"_other\",service=\"_other\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("decision=\"deny\",action=\"_other\",service=\"_other\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("service=\"c\""), std::string::npos);
}

TEST(MetricsTest, ErrorsAndUpstreamLatency) {
  Metrics metrics;
  AuditRecord proxied = Record("agent", "allow", "jobs.run", "billing", 502);
  proxied.upstream_status = 502;
  proxied.upstream_latency_us = 300000;
  metrics.ObserveRequest(proxied);
  EXPECT_EQ(metrics.totals().errors, 1U);
  const std::string text = Render(metrics);
  EXPECT_NE(text.find("dbproxy_upstream_latency_seconds_bucket{le=\"0.5\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("dbproxy_upstream_latency_seconds_sum 0.3\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace dbproxy
