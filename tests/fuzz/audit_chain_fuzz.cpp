// libFuzzer target for VerifyAuditChain and RedactQuery: no crash on any input; a verdict
// that fails names a line that exists; a chain built with the input as host name always verifies.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/audit/audit_chain.hpp"
#include "common/audit/audit_record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Two "files", split at the first NUL byte (or one file when there is none).
  const std::size_t split = text.find('\0');
  std::vector<std::string_view> files = {text.substr(0, split)};
  if (split != std::string_view::npos) files.push_back(text.substr(split + 1));
  const dbproxy::ChainVerdict verdict = dbproxy::VerifyAuditChain(files);
  if (!verdict.ok && (verdict.file >= files.size() || verdict.line == 0)) std::abort();

  dbproxy::ChainHead head;
  std::string rebuilt = dbproxy::GenesisAuditLine(head, 0, text.substr(0, 16), "start") + "\n";
  rebuilt += dbproxy::ChainAuditLine(head, R"({"q":1})") + "\n";
  if (!dbproxy::VerifyAuditChain({rebuilt}).ok) std::abort();
  (void)dbproxy::RedactQuery(text);
  return 0;
}
