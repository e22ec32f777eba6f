#include "tests/bench/process_memory.hpp"

#include "tests/integration/harness/util.hpp"

namespace dbproxy::testing {

RssSampler::RssSampler(pid_t pid, std::chrono::milliseconds interval)
    : poller_([this, pid, interval] {
        while (!stop_.load()) {
          const long rss = RssKib(pid);
          if (rss > peak_.load()) peak_.store(rss);
          std::this_thread::sleep_for(interval);
        }
      }) {}

RssSampler::~RssSampler() { Stop(); }

long RssSampler::Stop() {
  stop_.store(true);
  if (poller_.joinable()) poller_.join();
  return peak_.load();
}

}  // namespace dbproxy::testing
