// Strict readers for fields of small JSON documents (state files, admin request bodies): each
// checks presence and exact type and names the offending field in its error.
//
// Every error carries the caller's `code` (kCorrupt for files, kInvalidRequest for requests) and
// a message "<where>: <what is wrong>" that is safe to show to an operator (it never echoes a
// value). Pure; thread-safe.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/core/result.hpp"

namespace dbproxy {

struct JsonContext {
  Errc code = Errc::kInvalidRequest;
  std::string where;  // "grants.json: grant 3", "request body"
};

// OK when `value` is an object whose keys are all in `known`.
Status CheckObjectKeys(const nlohmann::json& value, std::initializer_list<std::string_view> known,
                       const JsonContext& context);

// object[key] as a string of at most `max_bytes` bytes. Errors when missing or not a string.
Result<std::string> ReadString(const nlohmann::json& object, const char* key,
                               std::size_t max_bytes, const JsonContext& context);

// object[key] as a non-negative integer that fits std::int64_t (booleans and floats refused).
Result<std::int64_t> ReadCount(const nlohmann::json& object, const char* key,
                               const JsonContext& context);

// Like ReadCount, but null is allowed and gives nullopt.
Result<std::optional<std::int64_t>> ReadCountOrNull(const nlohmann::json& object, const char* key,
                                                    const JsonContext& context);

// True when `text` has no C0 control character and no DEL (tabs and newlines included), so it
// is safe to put on one line of a table or a log.
bool IsPrintableText(std::string_view text) noexcept;

}  // namespace dbproxy
