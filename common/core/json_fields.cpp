#include "common/core/json_fields.hpp"

#include <limits>

namespace dbproxy {
namespace {

Error Fail(const JsonContext& context, const std::string& what) {
  return MakeError(context.code, context.where + ": " + what);
}

}  // namespace

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
