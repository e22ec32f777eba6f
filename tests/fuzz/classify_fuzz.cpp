// libFuzzer target for ClassifyCall: no crash on any (method, path), and normalisation is a
// fixed point: a classified call's normalised path classifies identically when classified
// again, contains only unreserved characters, '/' and canonical escapes (upper-case hex of a
// byte that is not unreserved), and is at most three times as long as the input.
// The first input byte picks the method, the rest is the path.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/calls/classify.hpp"

namespace {

bool IsUnreservedByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int UpperHexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Only unreserved bytes, '/' and "%XX" escapes of bytes that are not unreserved.
bool IsCanonicalPath(std::string_view path) {
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (IsUnreservedByte(path[i]) || path[i] == '/') continue;
    if (path[i] != '%' || i + 2 >= path.size()) return false;
    const int high = UpperHexValue(path[i + 1]);
    const int low = UpperHexValue(path[i + 2]);
    if (high < 0 || low < 0 || IsUnreservedByte(static_cast<char>(high * 16 + low))) return false;
    i += 2;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  constexpr std::array<std::string_view, 8> kMethods = {"GET",    "HEAD",    "POST", "PUT",
                                                        "DELETE", "PATCH", "OPTIONS", "get"};
  const std::string_view method = kMethods[data[0] % kMethods.size()];
  const std::string_view path(reinterpret_cast<const char*>(data + 1), size - 1);

  const dbproxy::Result<dbproxy::Classification> once = dbproxy::ClassifyCall(method, path);
  if (!once) return 0;
  const std::string_view normalized = once->normalized_path;
  if (normalized.size() > 3 * path.size() || normalized.empty() || normalized.front() != '/' ||
      !IsCanonicalPath(normalized)) {
    std::abort();
  }
  const dbproxy::Result<dbproxy::Classification> twice =
      dbproxy::ClassifyCall(method, once->normalized_path);
  if (!twice || twice->action != once->action || twice->normalized_path != normalized ||
      twice->api_version != once->api_version || twice->resource != once->resource) {
    std::abort();
  }
  return 0;
}
