#include "common/identity/base64url.hpp"

#include <cstddef>
#include <cstdint>

namespace dbproxy {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// The 6-bit value of base64url character `c`, or -1. Branch-free on the value of `c` (each range
// test is a mask computed from a sign bit), in the manner of WireGuard's key decoder.
int DecodeChar(unsigned char c) {
  const int x = c;
  int value = -1;
  // ((lo - 1 - x) & (x - hi - 1)) >> 8 is all ones when lo <= x <= hi, zero otherwise.
  value += (((('A' - 1) - x) & (x - ('Z' + 1))) >> 8) & (x - 'A' + 1);
  value += (((('a' - 1) - x) & (x - ('z' + 1))) >> 8) & (x - 'a' + 27);
  value += (((('0' - 1) - x) & (x - ('9' + 1))) >> 8) & (x - '0' + 53);
  value += ((('-' - 1 - x) & (x - ('-' + 1))) >> 8) & 63;
  value += ((('_' - 1 - x) & (x - ('_' + 1))) >> 8) & 64;
  return value;
}

}  // namespace

std::string Base64UrlEncode(std::span<const unsigned char> bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group =
        (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out += kAlphabet[(group >> 18) & 63];
    out += kAlphabet[(group >> 12) & 63];
    out += kAlphabet[(group >> 6) & 63];
    out += kAlphabet[group & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t group = std::uint32_t{bytes[i]} << 16;
    if (rest == 2) group |= std::uint32_t{bytes[i + 1]} << 8;
    out += kAlphabet[(group >> 18) & 63];
    out += kAlphabet[(group >> 12) & 63];
    if (rest == 2) out += kAlphabet[(group >> 6) & 63];
  }
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  return Base64UrlEncode(std::span<const unsigned char>(
      reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()));
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  const Error invalid = MakeError(Errc::kInvalidRequest, "invalid base64url");
  if (text.size() % 4 == 1) return invalid;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t accumulator = 0;
  int bits = 0;
  int bad = 0;  // collected over the whole text rather than returning at the first bad byte
  for (const char c : text) {
    const int value = DecodeChar(static_cast<unsigned char>(c));
    bad |= value;  // negative (sign bit set) when the character is outside the alphabet
    accumulator = (accumulator << 6) | static_cast<std::uint32_t>(value & 63);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((accumulator >> bits) & 0xFF);
    }
  }
  // The bits left over must be zero padding; otherwise several texts would decode alike.
  const std::uint32_t leftover = accumulator & ((std::uint32_t{1} << bits) - 1);
  if (bad < 0 || leftover != 0) return invalid;
  return out;
}

}  // namespace dbproxy
