#include "tests/bench/process_memory.hpp"

#include <cstdlib>
#include <fstream>
#include <string>

namespace dbproxy::testing {

long ReadStatusKib(pid_t pid, std::string_view field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    // "VmRSS:	   12345 kB"
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':') {
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return -1;
}

RssSampler::RssSampler(pid_t pid, std::chrono::milliseconds interval)
    : poller_([this, pid, interval] {
        while (!stop_.load()) {
          const long rss = ReadRssKib(pid);
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
