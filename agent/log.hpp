// Logging to stderr (journald under systemd). Every line passes through RedactSecrets, so a
// token that slips into a message is still never written.
#pragma once

#include <string_view>

namespace dbproxy {

enum class LogLevel { kError = 3, kWarning = 4, kInfo = 6, kDebug = 7 };

// Writes "<N>message" (sd-daemon priority prefix) when stderr is the journal, else
// "dbproxyd: level: message". Thread-safe (one write(2) per line).
void Log(LogLevel level, std::string_view message);

}  // namespace dbproxy
