// Resident memory of another process, read from /proc/<pid>/status, for the benchmarks'
// RSS figures (dbproxyd idle, under load, and after a long run).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <string_view>
#include <thread>

namespace dbproxy::testing {

// A "Vm..." field of /proc/<pid>/status in KiB (e.g. "VmRSS", "VmHWM"), or -1 when the process
// or the field is gone.
long ReadStatusKib(pid_t pid, std::string_view field);
inline long ReadRssKib(pid_t pid) { return ReadStatusKib(pid, "VmRSS"); }

// The highest VmRSS of `pid` seen by a background thread polling every `interval`, from
// construction until Stop() (or destruction).
// Threading: construct, Stop() and read from one thread.
class RssSampler {
 public:
  explicit RssSampler(pid_t pid,
                      std::chrono::milliseconds interval = std::chrono::milliseconds(5));
  ~RssSampler();
  RssSampler(const RssSampler&) = delete;
  RssSampler& operator=(const RssSampler&) = delete;

  // Stops polling; returns the peak in KiB (-1 if never read). Idempotent.
  long Stop();

 private:
  std::atomic<bool> stop_{false};
  std::atomic<long> peak_{-1};
  std::thread poller_;
};

}  // namespace dbproxy::testing
