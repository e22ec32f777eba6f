#include "common/audit/redact.hpp"

#include <cstddef>

#include "common/core/text.hpp"

namespace dbproxy {
namespace {

constexpr std::size_t kPatHexDigits = 32;
constexpr std::size_t kPrefixedSecretMinTail = 16;
constexpr std::size_t kBareJwtMinLength = 20;
constexpr int kJwtParts = 3;

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsAlnum(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsBase64Url(char c) {
  return IsAlnum(c) || c == '-' || c == '_';
}
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

template <class Pred>
std::size_t RunLength(std::string_view text, std::size_t pos, Pred pred) {
  std::size_t end = pos;
  while (end < text.size() && pred(text[end]))
    ++end;
  return end - pos;
}

// Each matcher returns the length of the secret starting at `pos`, or 0 for no match. A failed
// match inspects a bounded number of characters, which keeps the whole scan linear.

std::size_t MatchPat(std::string_view text, std::size_t pos) {
  if (text.substr(pos, 4) != "dapi") return 0;
  std::size_t len = 4;
  const std::size_t hex = RunLength(text, pos + len, IsHex);
  if (hex < kPatHexDigits) return 0;
  len += hex;
  if (pos + len + 1 < text.size() && text[pos + len] == '-' && IsDigit(text[pos + len + 1])) {
    len += 1 + RunLength(text, pos + len + 1, IsDigit);
  }
  return len;
}

std::size_t MatchPrefixedSecret(std::string_view text, std::size_t pos) {
  const std::string_view prefix = text.substr(pos, 4);
  if (prefix != "dose" && prefix != "doau") return 0;
  const std::size_t tail = RunLength(text, pos + 4, IsAlnum);
  return tail >= kPrefixedSecretMinTail ? 4 + tail : 0;
}

std::size_t MatchJwt(std::string_view text, std::size_t pos) {
  if (text.substr(pos, 3) != "eyJ") return 0;
  std::size_t len = 3 + RunLength(text, pos + 3, IsBase64Url);
  int parts = 1;
  while (parts < kJwtParts && pos + len < text.size() && text[pos + len] == '.') {
    const std::size_t next = RunLength(text, pos + len + 1, IsBase64Url);
    // Only the signature (third part) may be empty, as in an unsigned JWT.
    if (next == 0 && parts < kJwtParts - 1) break;
    len += 1 + next;
    ++parts;
  }
  return (parts == kJwtParts || len >= kBareJwtMinLength) ? len : 0;
}

// Returns the length of "Bearer" plus its separating blanks when a credential follows, and sets
// `secret_len` to the credential's length.
std::size_t MatchBearer(std::string_view text, std::size_t pos, std::size_t& secret_len) {
  constexpr std::string_view kBearer = "bearer";
  if (text.size() - pos < kBearer.size()) return 0;
  for (std::size_t i = 0; i < kBearer.size(); ++i) {
    if (AsciiLower(text[pos + i]) != kBearer[i]) return 0;
  }
  const std::size_t blanks =
      RunLength(text, pos + kBearer.size(), [](char c) { return c == ' ' || c == '\t'; });
  if (blanks == 0) return 0;
  const std::size_t prefix = kBearer.size() + blanks;
  secret_len = RunLength(text, pos + prefix, [](char c) { return !IsSpace(c); });
  return secret_len == 0 ? 0 : prefix;
}

}  // namespace

std::string RedactSecrets(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t secret_len = 0;
    if (const std::size_t prefix = MatchBearer(text, pos, secret_len); prefix != 0) {
      out.append(text.substr(pos, prefix));
      out.append(kRedacted);
      pos += prefix + secret_len;
      continue;
    }
    std::size_t len = MatchPat(text, pos);
    if (len == 0) len = MatchPrefixedSecret(text, pos);
    if (len == 0) len = MatchJwt(text, pos);
    if (len != 0) {
      out.append(kRedacted);
      pos += len;
    } else {
      out.push_back(text[pos]);
      ++pos;
    }
  }
  return out;
}

}  // namespace dbproxy
