// Runs dbproxyctl as a child process for end-to-end CLI tests.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace dbproxy::cli::testing {

struct ChildResult {
  int exit_code = -1;  // -1: killed after the time limit or by a signal
  std::string out;
  std::string err;
};

// Runs `program` with `args`, stdin fed from `stdin_data` (through a pipe, so not a terminal) or
// /dev/null, and collects stdout and stderr. The environment is ours minus DBPROXY_* variables.
// A child still running after `limit` is killed with SIGKILL; it is always reaped.
ChildResult RunChild(const std::string& program, const std::vector<std::string>& args,
                     const std::optional<std::string>& stdin_data = std::nullopt,
                     std::chrono::milliseconds limit = std::chrono::milliseconds(5000));

}  // namespace dbproxy::cli::testing
