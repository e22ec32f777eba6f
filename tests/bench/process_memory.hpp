// The peak resident memory of another process under load, for the benchmarks' RSS figures
// (single readings: RssKib and PeakRssKib in tests/integration/harness/util.hpp).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace dbproxy::testing {

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
