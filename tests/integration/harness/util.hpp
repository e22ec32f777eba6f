// Small helpers shared by the harness, the integration tests and the benchmark.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace dbproxy::testing {

// The outcome of a harness step: empty `error` means success. The message is meant for a
// test failure report, so it says what was attempted and what was seen.
struct [[nodiscard]] HarnessStatus {
  std::string error;
  bool ok() const { return error.empty(); }
  static HarnessStatus Ok() { return {}; }
  static HarnessStatus Fail(std::string message) { return {std::move(message)}; }
};

// Polls `predicate` every `interval` until it returns true or `timeout` passes.
// Returns the predicate's last value.
bool WaitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval = std::chrono::milliseconds(20));

// Whole-file helpers; ReadFile returns "" for a missing file.
std::string ReadFile(const std::filesystem::path& path);
void WriteFile(const std::filesystem::path& path, std::string_view content, int mode = 0644);

// True when a connect() to the Unix socket at `path` succeeds right now.
bool UnixSocketAccepts(const std::filesystem::path& path);
// A connected stream socket to the Unix socket at `path` (close it), or -1.
int ConnectUnix(const std::filesystem::path& path);
// A loopback TCP port nobody listens on right now (bound to 127.0.0.1:0, read, released).
int FreeLoopbackPort();
// Passes `fd` over the Unix socket `channel` (one byte, SCM_RIGHTS); false on failure.
bool SendFd(int channel, int fd);
// Receives a descriptor SendFd passed on `channel` (close-on-exec), or -1.
int ReceiveFd(int channel);

// The value of one sample in Prometheus text (`sample` is the name with its labels, e.g.
// `dbproxy_active_connections{socket="agent"}`), read from the line that starts with it (never
// a HELP or TYPE line); -1 when there is none.
double MetricSample(std::string_view metrics, std::string_view sample);

// A "Vm..." field of /proc/<pid>/status in KiB (e.g. "VmRSS"), or -1 when the process or the
// field is gone.
long StatusKib(pid_t pid, std::string_view field);
// VmRSS of process `pid` in KiB, or -1.
inline long RssKib(pid_t pid) { return StatusKib(pid, "VmRSS"); }
// VmHWM of process `pid` in KiB: the most it has held resident since it started, or -1.
inline long PeakRssKib(pid_t pid) { return StatusKib(pid, "VmHWM"); }

// Counts occurrences of `needle` in `haystack` (0 for an empty needle).
std::size_t CountOccurrences(std::string_view haystack, std::string_view needle);

}  // namespace dbproxy::testing
