#include "cli/output.hpp"

#include <time.h>

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace dbproxy::cli {

std::string Sanitize(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) c = '?';
  }
  return out;
}

std::string FormatTable(const Row& header, const std::vector<Row>& rows) {
  std::vector<std::size_t> widths(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
  for (const Row& row : rows) {
    for (std::size_t i = 0; i < widths.size() && i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  auto append_line = [&](const Row& cells) {
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < cells.size() ? cells[i] : std::string();
      out += cell;
      if (i + 1 < widths.size()) out.append(widths[i] - cell.size() + 2, ' ');
    }
    out += '\n';
  };
  append_line(header);
  for (const Row& row : rows) append_line(row);
  return out;
}

std::string FormatKeyValues(const KeyValues& pairs) {
  std::size_t width = 0;
  for (const auto& [key, value] : pairs) width = std::max(width, key.size() + 1);
  std::string out;
  for (const auto& [key, value] : pairs) {
    out += key;
    out += ':';
    out.append(width - key.size(), ' ');  // at least one space after the colon
    out += value;
    out += '\n';
  }
  return out;
}

std::optional<std::string> FormatErrorLine(const nlohmann::json& answer) {
  if (!answer.is_object() || !answer.contains("error")) return std::nullopt;
  const nlohmann::json& error = answer["error"];
  if (!error.is_object()) return std::nullopt;
  const auto code = error.find("code");
  const auto message = error.find("message");
  if (code == error.end() || !code->is_string() || message == error.end() ||
      !message->is_string()) {
    return std::nullopt;
  }
  std::string line = "dbproxyctl: " + Sanitize(message->get<std::string>()) + " (" +
                     Sanitize(code->get<std::string>());
  const auto rule = error.find("rule");
  if (rule != error.end() && rule->is_string() && !rule->get<std::string>().empty()) {
    line += ", rule " + Sanitize(rule->get<std::string>());
  }
  line += ')';
  return line;
}

std::string JsonCell(const nlohmann::json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) {
    // An empty cell would make a table's columns ambiguous.
    return value.get_ref<const std::string&>().empty() ? "-" : Sanitize(value.get<std::string>());
  }
  if (value.is_array()) {
    std::string out;
    for (const auto& item : value) out += (out.empty() ? "" : ",") + JsonCell(item);
    return out.empty() ? "-" : out;
  }
  if (value.is_object()) {
    std::string out;
    for (const auto& [key, item] : value.items()) {
      out += (out.empty() ? "" : ", ") + Sanitize(key) + "=" + JsonCell(item);
    }
    return out.empty() ? "-" : out;
  }
  return value.dump();  // numbers and booleans
}

const nlohmann::json& Member(const nlohmann::json& object, const char* key) {
  static const nlohmann::json kNull;
  if (!object.is_object()) return kNull;
  const auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

std::string Field(const nlohmann::json& object, const char* key) {
  return JsonCell(Member(object, key));
}

std::string FormatDuration(std::int64_t seconds) {
  if (seconds < 0) return "expired";
  char text[32];
  if (seconds < 60) {
    std::snprintf(text, sizeof text, "%llds", static_cast<long long>(seconds));
  } else if (seconds < 3600) {
    std::snprintf(text, sizeof text, "%lldm%02llds", static_cast<long long>(seconds / 60),
                  static_cast<long long>(seconds % 60));
  } else if (seconds < 86400) {
    std::snprintf(text, sizeof text, "%lldh%02lldm", static_cast<long long>(seconds / 3600),
                  static_cast<long long>(seconds % 3600 / 60));
  } else {
    std::snprintf(text, sizeof text, "%lldd%02lldh", static_cast<long long>(seconds / 86400),
                  static_cast<long long>(seconds % 86400 / 3600));
  }
  return text;
}

std::string FormatTimestamp(const nlohmann::json& value) {
  if (value.is_string()) return Sanitize(value.get<std::string>());
  if (!value.is_number()) return "-";
  const auto seconds = static_cast<time_t>(value.get<double>());
  tm utc{};
  if (gmtime_r(&seconds, &utc) == nullptr) return "-";
  char text[32];
  if (std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc) == 0) return "-";
  return text;
}

std::string PrettyJson(const nlohmann::json& value) {
  return value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace dbproxy::cli
