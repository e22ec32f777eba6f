#include "common/audit_record.hpp"

#include <ctime>

#include <nlohmann/json.hpp>

namespace dbproxy {

std::string FormatRfc3339Micros(std::int64_t time_us) {
  // Floor division: a time before the epoch still has a fraction in [0, 1) s.
  std::int64_t whole = time_us / 1'000'000;
  std::int64_t fraction = time_us % 1'000'000;
  if (fraction < 0) {
    fraction += 1'000'000;
    whole -= 1;
  }
  const auto seconds = static_cast<std::time_t>(whole);
  const auto micros = static_cast<long>(fraction);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[96];  // ample for any int field widths -Wformat-truncation can imagine
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, micros);
  return text;
}

std::string FormatAuditRecord(const AuditRecord& r) {
  nlohmann::ordered_json line = {
      {"time", FormatRfc3339Micros(r.time_us)},
      {"request_id", r.request_id},
      {"socket", r.socket},
      {"pid", r.pid},
      {"uid", r.uid},
      {"gid", r.gid},
      {"user", r.user},
      {"exe", r.exe},
      {"unit", r.unit},
      {"service", r.service},
      {"action", r.action},
      {"method", r.method},
      {"path", r.path},
      {"workspace", r.workspace},
      {"credential", r.credential},
      {"decision", r.decision},
      {"rule", r.rule},
      {"status", r.status},
      {"latency_us", r.latency_us},
  };
  if (!r.shadow_decision.empty()) {
    line["shadow_decision"] = r.shadow_decision;
    line["shadow_rule"] = r.shadow_rule;
  }
  if (!r.error_code.empty()) line["error"] = r.error_code;
  // Replace invalid UTF-8 (e.g. from a hostile exe path) instead of throwing.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace dbproxy
