// A thundering herd against one Unix socket: every connection is opened first, then one request
// is written on each, back to back from one thread, and all answers are awaited together with
// poll(2). token_bench sends 1,000 first token requests this way to an agent with nothing cached.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace dbproxy::testing {

struct HerdOptions {
  std::filesystem::path socket;
  std::string request;  // the raw HTTP/1.1 request written on every connection
  int connections = 1000;
  // After the last connect and before the first write: time for the server to accept (and
  // identify) every connection, so that the herd measures the requests, not the accepts.
  std::chrono::milliseconds settle{500};
  std::chrono::milliseconds timeout{30000};  // for every answer, from the first write
};

struct HerdResult {
  int connected = 0;           // connections opened
  int ok = 0;                  // complete 200 answers
  int failed = 0;              // failed connects, other statuses, closed or unanswered
  double first_answer_ms = 0;  // from the first write to the first complete answer
  double last_answer_ms = 0;   // from the first write to the last complete answer
  std::string first_failure;   // described, empty when none failed
};

// REQUIRES: RLIMIT_NOFILE leaves room for `connections` more descriptors (RaiseOpenFileLimit).
// Answers must carry Content-Length (or end at close); each connection carries one request.
HerdResult RunHerd(const HerdOptions& options);

// Raises this process's soft RLIMIT_NOFILE to at least `wanted`, capped at the hard limit.
// Returns the soft limit now in force.
long RaiseOpenFileLimit(long wanted);

}  // namespace dbproxy::testing
