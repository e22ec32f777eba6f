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

// ASCII case-insensitive equality (HTTP field names, auth schemes). Locale-independent.
inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace dbproxy
