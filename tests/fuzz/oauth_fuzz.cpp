// libFuzzer target for the OAuth parsers that read workspace-controlled text: token responses,
// discovery documents, Retry-After values and workspace URLs.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/oauth/oauth.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool initialised = sodium_init() >= 0;
  if (!initialised) std::abort();
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  for (const long status : {200L, 400L, 503L}) {
    std::string body(text);
    (void)dbproxy::ParseTokenResponse(status, body, "all-apis", 1);
    if (!body.empty()) std::abort();
  }
  (void)dbproxy::ParseDiscovery(text, "https://h.example.com");
  (void)dbproxy::ParseRetryAfter(text, 1700000000);
  (void)dbproxy::CanonicalScope(text);
  (void)dbproxy::UrlDecode(text);
  const auto host = dbproxy::NormalizeWorkspaceHost(text);
  // A normalised origin is a fixed point.
  if (host && *dbproxy::NormalizeWorkspaceHost(*host) != *host) std::abort();
  return 0;
}
