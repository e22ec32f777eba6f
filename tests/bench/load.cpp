#include "tests/bench/load.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

namespace dbproxy::testing {
namespace {

using Clock = std::chrono::steady_clock;

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1))];
}

// Shared by the threads of one run.
struct RunState {
  std::atomic<long> sent{0};
  std::atomic<long> errors{0};
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  Clock::time_point deadline;  // written before `go`, read after it
  std::mutex first_error_mutex;
  std::string first_error;

  void Fail(const std::string& description) {
    if (errors.fetch_add(1) != 0) return;
    const std::lock_guard<std::mutex> lock(first_error_mutex);
    first_error = description;
  }
};

void Connection(const LoadOptions& options, RunState& state, std::vector<double>& latencies,
                long& answered) {
  UnixHttpClient client(options.address);
  const HttpResponse connected = client.Connect();
  if (options.record_latencies) latencies.reserve(1 << 16);
  state.ready.fetch_add(1);
  while (!state.go.load()) std::this_thread::yield();
  if (!connected.ok()) {
    state.Fail("connect: " + connected.Describe());
    return;
  }
  const BenchRequest& r = options.request;
  while (options.max_requests == 0 || state.sent.fetch_add(1) < options.max_requests) {
    const auto start = Clock::now();
    if (start >= state.deadline) break;
    const HttpResponse response = client.Request(r.method, r.target, r.body, r.headers);
    const auto end = Clock::now();
    if (!response.ok() || response.status != 200) {
      state.Fail(response.Describe());
      continue;
    }
    ++answered;
    if (options.record_latencies) {
      latencies.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
  }
}

}  // namespace

LoadResult RunLoad(const LoadOptions& options) {
  const auto connections = static_cast<std::size_t>(options.connections);
  LoadResult result;
  result.latencies_us.resize(connections);
  result.answered.resize(connections);
  RunState state;
  std::vector<std::thread> threads;
  threads.reserve(connections);
  for (std::size_t t = 0; t < connections; ++t) {
    threads.emplace_back(
        [&, t] { Connection(options, state, result.latencies_us[t], result.answered[t]); });
  }
  while (state.ready.load() < options.connections) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const auto start = Clock::now();
  state.deadline = start + options.duration;
  state.go.store(true);
  for (auto& t : threads) t.join();
  result.elapsed_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.errors = state.errors.load();
  result.first_error = state.first_error;
  return result;
}

LatencySummary Summarize(const LoadResult& result, std::size_t first, std::size_t count) {
  const std::size_t size = result.answered.size();
  const std::size_t last = first >= size || count >= size - first ? size : first + count;
  std::vector<double> all;
  LatencySummary summary;
  for (std::size_t i = first; i < last; ++i) {
    summary.requests += result.answered[i];
    all.insert(all.end(), result.latencies_us[i].begin(), result.latencies_us[i].end());
  }
  std::sort(all.begin(), all.end());
  summary.requests_per_second = result.elapsed_seconds > 0
                                    ? static_cast<double>(summary.requests) / result.elapsed_seconds
                                    : 0;
  summary.p50_us = Percentile(all, 0.50);
  summary.p99_us = Percentile(all, 0.99);
  return summary;
}

}  // namespace dbproxy::testing
