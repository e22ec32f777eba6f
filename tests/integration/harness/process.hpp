// TempDir and Process: the two owners every integration test builds on.
//
// Both are RAII: a TempDir is removed recursively when it goes out of scope, a Process is
// stopped and reaped, so a failing assertion never leaks a directory or a running binary.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dbproxy::testing {

// A fresh directory under $TMPDIR (default /tmp), mode 0755 so processes running under other
// uids can reach sockets inside it. Removed recursively by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "dbproxy-it");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Who a child runs as. Applied in the child between fork and exec (or fn for RunAs):
// join every cgroup.procs file listed (while still root), then setgroups, setresgid, setresuid.
// A default Identity leaves the child as the parent's user.
struct Identity {
  std::optional<uid_t> uid;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::vector<std::string> cgroup_procs;  // paths of cgroup.procs files to join
};

struct ProcessOptions {
  std::vector<std::string> args;      // args[0] is the binary path
  std::vector<std::string> env;       // "K=V" sets or overrides, "K" unsets; rest inherited
  std::filesystem::path stdout_file;  // truncated and written by the child
  std::filesystem::path stderr_file;
  std::filesystem::path stdin_file;   // empty means /dev/null
  Identity identity;
  // Socket activation: these descriptors become 3, 4, ... in the child (close-on-exec cleared),
  // and with `listen_pid` the child gets LISTEN_PID=<its own pid>, set between fork and exec.
  std::vector<int> pass_fds;
  bool listen_pid = false;
};

// A child process started with fork/exec. Dies with the test process (PR_SET_DEATHSIG), is
// stopped by Stop() or, at the latest, killed and reaped by the destructor.
// Threading: not thread-safe; use from the thread that started it.
class Process {
 public:
  // Starts the binary. Throws std::runtime_error when it cannot be started (including an
  // exec failure, reported back through a close-on-exec pipe).
  explicit Process(ProcessOptions options);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();
  // Waits up to `timeout` for the process to exit on its own. Returns true when it exited.
  bool Wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after `grace`; always reaps. Returns ExitCode().
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // Exit status once reaped: the exit code, or 128 + signal number; nullopt while running.
  std::optional<int> ExitCode();
  // True when the process was ended by a signal (a crash or our SIGKILL).
  bool Signaled();
  // True when the process was ended by a signal and the kernel wrote a core dump of it.
  bool CoreDumped();

  std::string Stdout() const;
  std::string Stderr() const;
  const ProcessOptions& options() const { return options_; }

 private:
  bool Reap(bool block);

  ProcessOptions options_;
  pid_t pid_ = -1;
  std::optional<int> wait_status_;
};

namespace internal {

// Opens the identity's cgroup.procs files for writing (in the parent, before fork).
// Throws std::runtime_error naming the file that could not be opened.
std::vector<int> OpenCgroupFds(const Identity& identity);
void CloseFds(std::vector<int>& fds);

// In a freshly forked child only (async-signal-safe): joins the cgroups by writing "0" to each
// fd, then drops to the identity. Returns 0, or an errno value with *step naming what failed.
int ApplyIdentityInChild(const Identity& identity, const std::vector<int>& cgroup_fds,
                         const char** step);

}  // namespace internal
}  // namespace dbproxy::testing
