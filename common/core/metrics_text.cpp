#include "common/core/metrics_text.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <system_error>

namespace dbproxy {
namespace {

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

MetricHistogram::MetricHistogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)), counts_(upper_bounds_.size() + 1, 0) {}

void MetricHistogram::Observe(double value) {
  // The first bucket whose bound is >= value ("le" is inclusive); past the last: +Inf.
  const auto bound = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value);
  ++counts_[static_cast<std::size_t>(bound - upper_bounds_.begin())];
  sum_ += value;
  ++count_;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelpText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  std::array<char, 64> buffer{};
  // Counts up to 2^53 are exact in a double: print them as integers, not 1e+06.
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    const auto [end, ec] =
        std::to_chars(buffer.data(), buffer.data() + buffer.size(), static_cast<std::int64_t>(value));
    return ec == std::errc() ? std::string(buffer.data(), end) : std::string("NaN");
  }
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return ec == std::errc() ? std::string(buffer.data(), end) : std::string("NaN");
}

void MetricsTextWriter::Family(std::string_view name, MetricType type, std::string_view help) {
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  text_ += EscapeHelpText(help);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += TypeName(type);
  text_ += '\n';
}

void MetricsTextWriter::Sample(std::string_view name, const MetricLabels& labels, double value) {
  Line(name, "", labels, nullptr, value);
}

void MetricsTextWriter::Histogram(std::string_view name, const MetricLabels& labels,
                                  const MetricHistogram& histogram) {
  std::uint64_t cumulative = 0;
  const std::vector<std::uint64_t>& counts = histogram.bucket_counts();
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    const bool last = i == histogram.upper_bounds().size();
    const std::pair<std::string, std::string> le{
        "le", last ? "+Inf" : FormatMetricValue(histogram.upper_bounds()[i])};
    Line(name, "_bucket", labels, &le, static_cast<double>(cumulative));
  }
  Line(name, "_sum", labels, nullptr, histogram.sum());
  Line(name, "_count", labels, nullptr, static_cast<double>(histogram.count()));
}

void MetricsTextWriter::Line(std::string_view name, std::string_view suffix,
                             const MetricLabels& labels,
                             const std::pair<std::string, std::string>* extra, double value) {
  text_ += name;
  text_ += suffix;
  if (!labels.empty() || extra != nullptr) {
    text_ += '{';
    bool first = true;
    auto add = [&](const std::pair<std::string, std::string>& label) {
      if (!first) text_ += ',';
      first = false;
      text_ += label.first;
      text_ += "=\"";
      text_ += EscapeLabelValue(label.second);
      text_ += '"';
    };
    for (const auto& label : labels) add(label);
    if (extra != nullptr) add(*extra);
    text_ += '}';
  }
  text_ += ' ';
  text_ += FormatMetricValue(value);
  text_ += '\n';
}

}  // namespace dbproxy
