// Closed-loop load for the benchmarks: `connections` threads, each with one keep-alive
// UnixHttpClient, sending the same request again and again until a deadline or a total request
// count, recording the latency of every 200 answer. token_bench and proxy_bench share it so
// that dbproxyd and its anchors (echo, nginx) see exactly the same client.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "tests/integration/harness/unix_http_client.hpp"

namespace dbproxy::testing {

// What each connection sends, again and again.
struct BenchRequest {
  std::string method = "GET";
  std::string target = "/";
  std::string body;
  HttpHeaders headers;
};

struct LoadOptions {
  std::string address;  // a Unix socket path, or "127.0.0.1:PORT" (see UnixHttpClient)
  BenchRequest request;
  int connections = 1;
  std::chrono::milliseconds duration{5000};  // the run ends at this...
  long max_requests = 0;                     // ...or once this many were sent (0: no cap)
  bool record_latencies = true;              // false: only count (long runs)
};

struct LoadResult {
  // Per connection, in microseconds, one per 200 answer (empty unless record_latencies).
  std::vector<std::vector<double>> latencies_us;
  std::vector<long> answered;  // per connection: 200 answers
  long errors = 0;             // failed connects, transport failures and non-200 answers
  std::string first_error;     // the first of those, described
  double elapsed_seconds = 0;  // from the start signal to the last thread's end
};

// Opens every connection, then starts all threads at once and blocks until they are done.
// Threading: call from one thread; it spawns `connections` threads and joins them.
LoadResult RunLoad(const LoadOptions& options);

struct LatencySummary {
  long requests = 0;
  double requests_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
};

// Summary over connections [first, first + count) of `result` (all of them by default).
LatencySummary Summarize(const LoadResult& result, std::size_t first = 0,
                         std::size_t count = static_cast<std::size_t>(-1));

}  // namespace dbproxy::testing
