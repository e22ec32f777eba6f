// libFuzzer target for ClassifyCall: no crash on any (method, path), and normalisation is a
// fixed point: a classified call's normalised path classifies identically when classified
// again, contains only unreserved characters and '/', and is never longer than the input.
// The first input byte picks the method, the rest is the path.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/calls/classify.hpp"

namespace {

bool IsNormalizedByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '/';
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
  if (normalized.size() > path.size() || normalized.empty() || normalized.front() != '/') {
    std::abort();
  }
  for (char c : normalized) {
    if (!IsNormalizedByte(c)) std::abort();
  }
  const dbproxy::Result<dbproxy::Classification> twice =
      dbproxy::ClassifyCall(method, once->normalized_path);
  if (!twice || twice->action != once->action || twice->normalized_path != normalized ||
      twice->api_version != once->api_version || twice->resource != once->resource) {
    std::abort();
  }
  return 0;
}
