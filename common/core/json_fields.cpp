#include "common/core/json_fields.hpp"

#include <limits>
#include <optional>
#include <set>
#include <vector>

namespace dbproxy {
namespace {

Error Fail(const JsonContext& context, const std::string& what) {
  return MakeError(context.code, context.where + ": " + what);
}

// "key 'name'" for a key from the input, only when it is short and printable; "a key" otherwise.
std::string KeyForMessage(const std::string& key) {
  return key.size() <= 64 && IsPrintableText(key) ? "key '" + key + "'" : "a key";
}

}  // namespace

Result<nlohmann::json> ParseJsonBody(std::string_view body, const JsonContext& context) {
  if (body.empty()) return nlohmann::json::object();
  // The keys seen so far in each object being parsed, innermost last.
  std::vector<std::set<std::string>> open_objects;
  std::optional<std::string> repeated;
  const nlohmann::json::parser_callback_t check = [&](int /*depth*/,
                                                      nlohmann::json::parse_event_t event,
                                                      nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) open_objects.emplace_back();
    if (event == Event::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == Event::key && !open_objects.empty() && !repeated) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second) repeated = key;
    }
    return true;
  };
  nlohmann::json parsed = nlohmann::json::parse(body, check, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return Fail(context, "expected a JSON object");
  if (repeated) {
    return Fail(context, KeyForMessage(*repeated) + " appears more than once in an object");
  }
  return parsed;
}

Status CheckObjectKeys(const nlohmann::json& value, std::initializer_list<std::string_view> known,
                       const JsonContext& context) {
  if (!value.is_object()) return Fail(context, "expected a JSON object");
  for (const auto& item : value.items()) {
    bool found = false;
    for (std::string_view key : known) found = found || item.key() == key;
    if (!found) {
      // The key came from the input: keep it short and printable in the message.
      const std::string& key = item.key();
      const bool showable = key.size() <= 64 && IsPrintableText(key);
      return Fail(context, showable ? "unknown field '" + key + "'" : "unknown field");
    }
  }
  return Status::Ok();
}

Result<std::string> ReadString(const nlohmann::json& object, const char* key,
                               std::size_t max_bytes, const JsonContext& context) {
  const auto it = object.find(key);
  if (it == object.end()) return Fail(context, std::string("'") + key + "' is missing");
  if (!it->is_string()) return Fail(context, std::string("'") + key + "' must be a string");
  const std::string& text = it->get_ref<const std::string&>();
  if (text.size() > max_bytes) {
    return Fail(context, std::string("'") + key + "' is longer than " +
                             std::to_string(max_bytes) + " bytes");
  }
  return text;
}

Result<std::int64_t> ReadCount(const nlohmann::json& object, const char* key,
                               const JsonContext& context) {
  const auto it = object.find(key);
  if (it == object.end()) return Fail(context, std::string("'") + key + "' is missing");
  const std::string bad = std::string("'") + key + "' must be a non-negative integer";
  if (it->is_number_unsigned()) {
    const auto value = it->get<std::uint64_t>();
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return Fail(context, bad);
    }
    return static_cast<std::int64_t>(value);
  }
  if (!it->is_number_integer()) return Fail(context, bad);
  const auto value = it->get<std::int64_t>();
  if (value < 0) return Fail(context, bad);
  return value;
}

Result<std::optional<std::int64_t>> ReadCountOrNull(const nlohmann::json& object, const char* key,
                                                    const JsonContext& context) {
  const auto it = object.find(key);
  if (it != object.end() && it->is_null()) return std::optional<std::int64_t>();
  Result<std::int64_t> value = ReadCount(object, key, context);
  if (!value) return std::move(value).error();
  return std::optional<std::int64_t>(*value);
}

bool IsPrintableText(std::string_view text) noexcept {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return false;
  }
  return true;
}

}  // namespace dbproxy
