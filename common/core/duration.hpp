// Durations as operators type them, and moments as messages print them (FormatUtc).
//
// Durations as operators type them: "90s", "15m", "2h", "1d", "1w", "1h30m".
//
// Grammar: one or more <digits><unit> groups, units s (second), m (minute), h (hour), d (day,
// 86400 s) and w (week, 7 d), each used at most once and in decreasing order ("1h30m", not
// "30m1h" or "1h1h"). No sign, spaces, fractions, upper case or bare numbers: "90" is refused
// rather than guessed to be seconds. A group may be zero ("1h0m") as long as the total is not.
//
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/core/result.hpp"

namespace dbproxy {

// The longest duration accepted anywhere a duration is typed: 366 days, in seconds.
inline constexpr std::int64_t kMaxDurationSeconds = std::int64_t{366} * 24 * 60 * 60;

// Parses `text` into seconds, 1 <= result <= kMaxDurationSeconds.
// Errors: kInvalidRequest with a message that quotes the text and says what is wrong
// (empty, unknown unit, missing number, units out of order, zero, over 366 days).
Result<std::int64_t> ParseDuration(std::string_view text);

// The shortest text ParseDuration reads back as `seconds`, using s, m, h and d (never w):
// 45 -> "45s", 5400 -> "1h30m", 90061 -> "1d1h1m1s", 1209600 -> "14d". Values <= 0 give "0s"
// (which ParseDuration refuses: it is not a duration an operator may ask for).
std::string FormatDuration(std::int64_t seconds);

// A moment as RFC 3339 UTC to the second, for messages: 1800000000 -> "2027-01-15T08:00:00Z".
// REQUIRES: 0 <= unix_seconds <= 253402300799 (year 9999).
std::string FormatUtc(std::int64_t unix_seconds);

}  // namespace dbproxy
