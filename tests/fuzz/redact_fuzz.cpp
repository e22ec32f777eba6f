// libFuzzer target for RedactSecrets: no crash, no growth beyond the input plus markers, and
// idempotence (redacting twice changes nothing more), which would catch a marker that itself
// looks like a secret.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/audit/redact.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string once = dbproxy::RedactSecrets(text);
  if (once.size() > text.size() * dbproxy::kRedacted.size()) std::abort();
  if (dbproxy::RedactSecrets(once) != once) std::abort();
  return 0;
}
