#include "common/core/duration.hpp"

#include <array>
#include <cstdio>
#include <chrono>

namespace dbproxy {
namespace {

struct Unit {
  char letter;
  std::int64_t seconds;
};

// Largest first: the order units must appear in.
constexpr std::array<Unit, 5> kUnits = {{
    {'w', 7 * 86400},
    {'d', 86400},
    {'h', 3600},
    {'m', 60},
    {'s', 1},
}};

// Index in kUnits, or kUnits.size() when `c` is not a unit letter.
std::size_t UnitIndex(char c) {
  for (std::size_t i = 0; i < kUnits.size(); ++i) {
    if (kUnits[i].letter == c) return i;
  }
  return kUnits.size();
}

Error Bad(std::string_view text, const std::string& why) {
  return MakeError(Errc::kInvalidRequest, "invalid duration '" + std::string(text) + "': " + why +
                                              " (examples: 90s, 15m, 2h, 1d, 1w, 1h30m)");
}

}  // namespace

Result<std::int64_t> ParseDuration(std::string_view text) {
  if (text.empty()) return Bad(text, "empty");
  std::int64_t total = 0;
  std::size_t next_unit = 0;  // the first unit still allowed
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::int64_t number = 0;
    const std::size_t digits_start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      // Anything above the cap is refused anyway; stop growing before overflow.
      if (number <= kMaxDurationSeconds) number = number * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == digits_start) return Bad(text, "expected a number at position " +
                                                  std::to_string(pos + 1));
    if (pos == text.size()) return Bad(text, "the last number has no unit (s, m, h, d or w)");
    const std::size_t unit = UnitIndex(text[pos]);
    if (unit == kUnits.size()) {
      return Bad(text, std::string("unknown unit '") + text[pos] + "' (use s, m, h, d or w)");
    }
    if (unit < next_unit) return Bad(text, "units must appear once each, largest first");
    next_unit = unit + 1;
    ++pos;
    if (number > kMaxDurationSeconds / kUnits[unit].seconds) {
      return Bad(text, "longer than 366 days");
    }
    total += number * kUnits[unit].seconds;
    if (total > kMaxDurationSeconds) return Bad(text, "longer than 366 days");
  }
  if (total == 0) return Bad(text, "must be longer than zero");
  return total;
}

std::string FormatDuration(std::int64_t seconds) {
  if (seconds <= 0) return "0s";
  std::string out;
  // Weeks are skipped on purpose: "14d" reads more easily than "2w".
  for (std::size_t i = 1; i < kUnits.size(); ++i) {
    const std::int64_t count = seconds / kUnits[i].seconds;
    if (count == 0) continue;
    out += std::to_string(count);
    out += kUnits[i].letter;
    seconds -= count * kUnits[i].seconds;
  }
  return out;
}

std::string FormatUtc(std::int64_t seconds) {
  using std::chrono::days;
  const std::chrono::sys_seconds time{std::chrono::seconds(seconds)};
  const auto day = std::chrono::floor<days>(time);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss clock{time - day};
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%04d-%02u-%02uT%02d:%02d:%02dZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(clock.hours().count()),
                static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()));
  return text.data();
}

}  // namespace dbproxy
