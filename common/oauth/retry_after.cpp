// ParseRetryAfter (oauth.hpp): the Retry-After field of RFC 9110 section 10.2.3.
#include <array>
#include <cstddef>
#include <span>
#include <string_view>

#include "common/oauth/oauth.hpp"

namespace dbproxy {
namespace {

constexpr std::array<std::string_view, 7> kDayNames = {"Mon", "Tue", "Wed", "Thu",
                                                       "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<int, 12> kDaysInMonth = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
constexpr int kEpochYear = 1970;

bool IsLeapYear(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

// Leap years in [1, year].
int LeapYearsThrough(int year) {
  return year / 4 - year / 100 + year / 400;
}

// Reads exactly `digits` decimal digits at `pos`.
bool ReadNumber(std::string_view text, std::size_t pos, std::size_t digits, int& out) {
  out = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

int IndexOf(std::string_view name, std::span<const std::string_view> names) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

// IMF-fixdate, exactly "Sun, 06 Nov 1994 08:49:37 GMT", to Unix seconds. Years before 1970 are
// refused (such a date is in the past anyway).
bool ParseImfFixdate(std::string_view text, std::int64_t& unix_seconds) {
  constexpr std::string_view kShape = "Ddd, 00 Mmm 0000 00:00:00 GMT";
  if (text.size() != kShape.size() || text.substr(3, 2) != ", " || text[7] != ' ' ||
      text[11] != ' ' || text[16] != ' ' || text[19] != ':' || text[22] != ':' ||
      text.substr(25) != " GMT") {
    return false;
  }
  const int month = IndexOf(text.substr(8, 3), kMonthNames);
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (IndexOf(text.substr(0, 3), kDayNames) < 0 || month < 0 || !ReadNumber(text, 5, 2, day) ||
      !ReadNumber(text, 12, 4, year) || !ReadNumber(text, 17, 2, hour) ||
      !ReadNumber(text, 20, 2, minute) || !ReadNumber(text, 23, 2, second)) {
    return false;
  }
  const int month_days = kDaysInMonth[month] + (month == 1 && IsLeapYear(year) ? 1 : 0);
  // RFC 9110 allows second 60 (a leap second).
  if (year < kEpochYear || day < 1 || day > month_days || hour > 23 || minute > 59 || second > 60) {
    return false;
  }
  std::int64_t days = std::int64_t{365} * (year - kEpochYear) +
                      (LeapYearsThrough(year - 1) - LeapYearsThrough(kEpochYear - 1));
  for (int m = 0; m < month; ++m)
    days += kDaysInMonth[m] + (m == 1 && IsLeapYear(year) ? 1 : 0);
  days += day - 1;
  unix_seconds = days * 86400 + hour * 3600 + minute * 60 + second;
  return true;
}

std::string_view TrimBlanks(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

}  // namespace

int ParseRetryAfter(std::string_view value, std::int64_t now_unix) {
  value = TrimBlanks(value);
  if (value.empty()) return 0;
  if (value.front() >= '0' && value.front() <= '9') {
    // delay-seconds = 1*DIGIT; saturate instead of overflowing on long inputs.
    int seconds = 0;
    for (const char c : value) {
      if (c < '0' || c > '9') return 0;
      if (seconds <= kMaxRetryAfterSeconds) seconds = seconds * 10 + (c - '0');
    }
    return seconds > kMaxRetryAfterSeconds ? kMaxRetryAfterSeconds : seconds;
  }
  std::int64_t when = 0;
  if (!ParseImfFixdate(value, when) || when <= now_unix) return 0;
  const std::int64_t wait = when - now_unix;
  return wait > kMaxRetryAfterSeconds ? kMaxRetryAfterSeconds : static_cast<int>(wait);
}

}  // namespace dbproxy
