// Output helpers shared by every dbproxyctl command: tables, key/value lists, error lines.
//
// Pure functions returning text; the caller decides where it goes. Text that came from the agent
// is passed through Sanitize() so a hostile or broken answer cannot drive the terminal.
// Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace dbproxy::cli {

using Row = std::vector<std::string>;
using KeyValues = std::vector<std::pair<std::string, std::string>>;

// Replaces control characters (C0, DEL) with '?'.
std::string Sanitize(std::string_view text);

// Left-aligned columns separated by two spaces; the last column is not padded, so no line has
// trailing blanks. Short rows are padded with empty cells; cells beyond the header are dropped.
// Every line, the header included, ends with '\n'.
std::string FormatTable(const Row& header, const std::vector<Row>& rows);

// "key:" padded to the longest key, one space, the value; one line per pair, in order.
std::string FormatKeyValues(const KeyValues& pairs);

// The one-line stderr message for an agent error answer {"error":{"code","message","rule"?}}:
// "dbproxyctl: <message> (<code>[, rule <rule>])". Returns nullopt when `answer` is not of that
// shape.
std::optional<std::string> FormatErrorLine(const nlohmann::json& answer);

// A table cell for an arbitrary JSON value: strings as they are, numbers and booleans as JSON,
// arrays comma-joined, objects as "k=v, ...", null and "" as "-".
std::string JsonCell(const nlohmann::json& value);

// object[key], or a null value when `object` is not an object or lacks `key`. Never throws.
const nlohmann::json& Member(const nlohmann::json& object, const char* key);

// JsonCell(Member(object, key)): "-" when the field is missing.
std::string Field(const nlohmann::json& object, const char* key);

// A duration for people: "45s", "12m05s", "2h03m", "3d04h"; negative values read "expired".
std::string FormatDuration(std::int64_t seconds);

// A time value from the agent: Unix seconds become "YYYY-MM-DDTHH:MM:SSZ" (UTC), strings pass
// through, anything else is "-".
std::string FormatTimestamp(const nlohmann::json& value);

// Pretty JSON (two-space indent) with a final newline; invalid UTF-8 is replaced, never thrown.
std::string PrettyJson(const nlohmann::json& value);

}  // namespace dbproxy::cli
