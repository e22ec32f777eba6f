// Wall-clock time for the agent (common/ takes time as a parameter instead).
#pragma once

#include <chrono>
#include <cstdint>

namespace dbproxy {

inline std::int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
inline std::int64_t NowUnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
inline std::int64_t NowUnix() { return NowUnixMs() / 1000; }

}  // namespace dbproxy
