#include "common/audit/audit_record.hpp"

#include <array>
#include <cctype>
#include <ctime>

#include <nlohmann/json.hpp>

#include "common/audit/redact.hpp"

namespace dbproxy {
namespace {

constexpr std::array<std::string_view, 8> kSensitiveKeyParts = {
    "token", "secret", "password", "passwd", "signature", "apikey", "api_key", "assertion"};
constexpr std::array<std::string_view, 6> kSensitiveKeys = {"code", "key", "sig",
                                                            "pwd",  "auth", "authorization"};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Lower-cased and percent-decoded ('+' as space); a broken escape stays as it is.
std::string NormalizeKey(std::string_view key) {
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    if (c == '%' && i + 2 < key.size() &&
        HexValue(key[i + 1]) >= 0 && HexValue(key[i + 2]) >= 0) {
      c = static_cast<char>(HexValue(key[i + 1]) * 16 + HexValue(key[i + 2]));
      i += 2;
    } else if (c == '+') {
      c = ' ';
    }
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool IsSensitiveKey(std::string_view raw_key) {
  const std::string key = NormalizeKey(raw_key);
  for (const std::string_view exact : kSensitiveKeys) {
    if (key == exact) return true;
  }
  for (const std::string_view part : kSensitiveKeyParts) {
    if (key.find(part) != std::string::npos) return true;
  }
  return false;
}

nlohmann::ordered_json PairsObject(const std::vector<std::pair<std::string, std::string>>& pairs) {
  nlohmann::ordered_json object = nlohmann::ordered_json::object();
  for (const auto& [key, value] : pairs) object[key] = RedactSecrets(value);
  return object;
}

}  // namespace

std::string RedactQuery(std::string_view query) {
  std::string out;
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(start, end - start);
    const std::size_t equals = pair.find('=');
    const std::string_view key = pair.substr(0, equals);
    if (start > 0) out += '&';
    if (equals != std::string_view::npos && IsSensitiveKey(key)) {
      out.append(key);
      out += '=';
      out.append(kRedacted);
    } else {
      out.append(pair);
    }
    start = end + 1;
  }
  return RedactSecrets(out);
}

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

std::string FormatAuditRecord(const AuditRecord& r, const AuditFormatOptions& options) {
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
      {"path", RedactSecrets(r.path)},
      {"workspace", r.workspace},
      {"credential", r.credential},
      {"decision", r.decision},
      {"rule", r.rule},
      {"status", r.status},
      {"latency_us", r.latency_us},
  };
  if (!r.query.empty()) line["query"] = RedactQuery(r.query);
  if (!r.attributes.empty()) line["attributes"] = PairsObject(r.attributes);
  if (!r.detail.empty()) line["detail"] = PairsObject(r.detail);
  line["bytes_in"] = r.bytes_in;
  line["bytes_out"] = r.bytes_out;
  if (r.upstream_status != 0) {
    line["upstream_status"] = r.upstream_status;
    line["upstream_latency_us"] = r.upstream_latency_us;
  }
  if (!r.databricks_request_id.empty()) line["databricks_request_id"] = r.databricks_request_id;
  if (r.statement_bytes >= 0) {
    line["statement_bytes"] = r.statement_bytes;
    line["statement_sha256"] = r.statement_sha256;
    if (options.log_statements && !r.statement.empty()) line["statement"] = r.statement;
  }
  if (!r.shadow_decision.empty()) {
    line["shadow_decision"] = r.shadow_decision;
    line["shadow_rule"] = r.shadow_rule;
  }
  if (!r.error_code.empty()) line["error"] = r.error_code;
  // Replace invalid UTF-8 (e.g. from a hostile exe path) instead of throwing.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace dbproxy
