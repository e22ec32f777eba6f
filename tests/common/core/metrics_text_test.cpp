#include "common/core/metrics_text.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace dbproxy {
namespace {

TEST(MetricsTextTest, CounterFamilyWithLabels) {
  MetricsTextWriter writer;
  writer.Family("dbproxy_requests_total", MetricType::kCounter, "Requests handled.");
  writer.Sample("dbproxy_requests_total", {{"socket", "agent"}, {"decision", "allow"}}, 3);
  writer.Sample("dbproxy_requests_total", {{"socket", "admin"}, {"decision", "deny"}}, 1);
  EXPECT_EQ(writer.text(),
            "# HELP dbproxy_requests_total Requests handled.\n"
            "# TYPE dbproxy_requests_total counter\n"
            "dbproxy_requests_total{socket=\"agent\",decision=\"allow\"} 3\n"
            "dbproxy_requests_total{socket=\"admin\",decision=\"deny\"} 1\n");
}

TEST(MetricsTextTest, GaugeWithoutLabels) {
  MetricsTextWriter writer;
  writer.Family("dbproxy_up", MetricType::kGauge, "Always 1.");
  writer.Sample("dbproxy_up", {}, 1);
  EXPECT_EQ(writer.Take(), "# HELP dbproxy_up Always 1.\n# TYPE dbproxy_up gauge\ndbproxy_up 1\n");
  EXPECT_EQ(writer.text(), "");
}

TEST(MetricsTextTest, LabelValuesAreEscaped) {
  const struct {
    const char* raw;
    const char* escaped;
  } cases[] = {
      {"plain", "plain"},
      {"a\"b", "a\\\"b"},
      {"back\\slash", "back\\\\slash"},
      {"two\nlines", "two\\nlines"},
      {"", ""},
      {"üñí", "üñí"},
  };
  for (const auto& c : cases) EXPECT_EQ(EscapeLabelValue(c.raw), c.escaped) << c.raw;
  MetricsTextWriter writer;
  writer.Sample("m", {{"service", "x\"}\n"}}, 1);
  EXPECT_EQ(writer.text(), "m{service=\"x\\\"}\\n\"} 1\n");
}

TEST(MetricsTextTest, HelpTextEscapesBackslashAndNewlineOnly) {
  EXPECT_EQ(EscapeHelpText("a \"quoted\" \\ path\nnext"), "a \"quoted\" \\\\ path\\nnext");
}

TEST(MetricsTextTest, ValuesAreFormattedExactly) {
  const struct {
    double value;
    const char* text;
  } cases[] = {
      {0, "0"},
      {42, "42"},
      {-3, "-3"},
      {1e6, "1000000"},
      {0.25, "0.25"},
      {0.1, "0.1"},
      {1.5e-05, "1.5e-05"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
      {std::numeric_limits<double>::quiet_NaN(), "NaN"},
      {1e300, "1e+300"},
  };
  for (const auto& c : cases) EXPECT_EQ(FormatMetricValue(c.value), c.text) << c.text;
}

TEST(MetricsTextTest, HistogramBucketsAreCumulativeAndInclusive) {
  MetricHistogram histogram({0.1, 0.5, 1});
  for (double v : {0.05, 0.1, 0.3, 0.5, 0.7, 2.0}) histogram.Observe(v);
  EXPECT_EQ(histogram.count(), 6U);
  EXPECT_DOUBLE_EQ(histogram.sum(), 3.65);
  EXPECT_EQ(histogram.bucket_counts(), (std::vector<std::uint64_t>{2, 2, 1, 1}));

  MetricsTextWriter writer;
  writer.Family("lat_seconds", MetricType::kHistogram, "Latency.");
  writer.Histogram("lat_seconds", {{"socket", "agent"}}, histogram);
  EXPECT_EQ(writer.text(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{socket=\"agent\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{socket=\"agent\",le=\"0.5\"} 4\n"
            "lat_seconds_bucket{socket=\"agent\",le=\"1\"} 5\n"
            "lat_seconds_bucket{socket=\"agent\",le=\"+Inf\"} 6\n"
            "lat_seconds_sum{socket=\"agent\"} 3.65\n"
            "lat_seconds_count{socket=\"agent\"} 6\n");
}

TEST(MetricsTextTest, EmptyHistogramWithoutLabels) {
  MetricsTextWriter writer;
  writer.Histogram("h", {}, MetricHistogram({1}));
  EXPECT_EQ(writer.text(), "h_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 0\nh_sum 0\nh_count 0\n");
}

}  // namespace
}  // namespace dbproxy
