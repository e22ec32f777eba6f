// Strict readers of small JSON documents (state files, request bodies of both sockets): the
// body parser refuses repeated keys; the field readers check presence and exact type and name
// the offending field in their errors.
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

// Parses a request body that must be one JSON object; an empty body is {} (a request that sends
// no fields). Refused, as `context.code`: anything that is not exactly one JSON object, and a key
// repeated in any object at any depth. nlohmann keeps the last of repeated keys while other
// parsers keep the first, so {"scope":"a","scope":"b"} would be checked as one value and read
// elsewhere as the other; there is no reading of it worth guessing.
Result<nlohmann::json> ParseJsonBody(std::string_view body, const JsonContext& context);

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
