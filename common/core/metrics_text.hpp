// Prometheus text exposition format (version 0.0.4): a writer for counters, gauges and
// histograms, and the histogram value they are written from.
//
// Format rules followed here: "# HELP name text" (backslash and newline escaped), then
// "# TYPE name counter|gauge|histogram", then one "name{label="value",...} number" line per
// sample; label values escape backslash, double quote and newline; every line ends in "\n";
// a histogram writes cumulative name_bucket{le="..."} lines ending with le="+Inf", then
// name_sum and name_count.
// Pure: no clocks, no I/O. Threading: a writer or histogram is used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dbproxy {

// (label name, label value) pairs in the order they are written.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge, kHistogram };

// Counts observations into buckets with fixed upper bounds (inclusive, as Prometheus' "le").
class MetricHistogram {
 public:
  // REQUIRES: `upper_bounds` strictly increasing and finite; +Inf is implicit.
  explicit MetricHistogram(std::vector<double> upper_bounds);

  void Observe(double value);

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Observations per bucket, not cumulative; one more entry than upper_bounds() (the +Inf one).
  const std::vector<std::uint64_t>& bucket_counts() const { return counts_; }
  double sum() const { return sum_; }
  std::uint64_t count() const { return count_; }

 private:
  std::vector<double> upper_bounds_;
  std::vector<std::uint64_t> counts_;
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

// Builds one exposition. Families must be written whole (Family, then all of its samples)
// before the next one starts; the writer does not reorder.
// REQUIRES (not checked): metric names match [a-zA-Z_:][a-zA-Z0-9_:]* and label names
// [a-zA-Z_][a-zA-Z0-9_]*, neither starting with "__"; a name appears in one Family only.
class MetricsTextWriter {
 public:
  // Writes the HELP and TYPE lines of a family.
  void Family(std::string_view name, MetricType type, std::string_view help);
  // One sample line of a counter or gauge.
  void Sample(std::string_view name, const MetricLabels& labels, double value);
  // The _bucket, _sum and _count lines of one histogram (labels plus "le" on the buckets).
  void Histogram(std::string_view name, const MetricLabels& labels,
                 const MetricHistogram& histogram);

  const std::string& text() const { return text_; }
  std::string Take() { return std::move(text_); }

 private:
  void Line(std::string_view name, std::string_view suffix, const MetricLabels& labels,
            const std::pair<std::string, std::string>* extra, double value);

  std::string text_;
};

// "text/plain; version=0.0.4; charset=utf-8": the Content-Type of a scrape answer.
inline constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// A label value with backslash, double quote and newline escaped.
std::string EscapeLabelValue(std::string_view value);
// HELP text with backslash and newline escaped.
std::string EscapeHelpText(std::string_view text);
// A sample value: integers without a fraction ("42"), others in the shortest form that reads
// back exactly ("0.25"), and "+Inf", "-Inf", "NaN".
std::string FormatMetricValue(double value);

}  // namespace dbproxy
