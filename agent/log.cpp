#include "agent/log.hpp"

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "common/audit/redact.hpp"

namespace dbproxy {
namespace {

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
  }
  return "info";
}

}  // namespace

void Log(LogLevel level, std::string_view message) {
  static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  const std::string prefix = journal ? "<" + std::to_string(static_cast<int>(level)) + ">"
                                     : "dbproxyd: " + std::string(LevelName(level)) + ": ";
  std::string text;
  const std::string redacted = RedactSecrets(message);
  std::string_view rest = redacted;
  // Every line gets the prefix, so a multi-line error keeps its priority in the journal.
  while (!rest.empty()) {
    const std::size_t end = rest.find('\n');
    text += prefix;
    text += rest.substr(0, end);
    text += '\n';
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  }
  (void)!::write(STDERR_FILENO, text.data(), text.size());
}

}  // namespace dbproxy
