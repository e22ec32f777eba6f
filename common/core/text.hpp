// Small ASCII text helpers for protocol fields (HTTP header names and values, tokens). Pure.
#pragma once

#include <algorithm>
#include <cctype>
#include <string_view>

namespace dbproxy {

// `text` without leading and trailing spaces, tabs, CR and LF (HTTP optional whitespace).
inline std::string_view TrimWhitespace(std::string_view text) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

// `c` in lower case when it is an ASCII capital letter; any other byte unchanged.
inline constexpr char AsciiLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// The value of a hexadecimal digit (either case), or -1 when `c` is not one.
inline constexpr int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ASCII case-insensitive equality (HTTP field names, auth schemes). Locale-independent.
inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace dbproxy
