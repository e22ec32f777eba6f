// Running test code as another local caller: another uid/gid/groups, inside a cgroup named
// like a systemd unit. This is how the tests present dbproxyd with callers it must tell apart
// from the kernel's point of view (SO_PEERCRED and /proc/<pid>/cgroup), without real users or
// systemd.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/harness/process.hpp"

namespace dbproxy::testing {

struct RunAsResult {
  bool ok = false;     // fn ran to completion and its result arrived
  std::string output;  // fn's return value
  std::string error;   // why not ok: identity change failed, exception, crash, timeout
};

// Forks a child that applies `who` (cgroups joined first, then setgroups/setresgid/setresuid),
// runs fn and sends its return value back through a pipe. The parent waits up to `timeout`,
// then kills and reaps the child. Exceptions thrown by fn are reported in `error`.
// REQUIRES: called as root when `who` changes uid or joins a cgroup; no other thread of the
// caller holds a lock fn needs (fn runs in a forked copy of the process).
RunAsResult RunAs(const Identity& who, const std::function<std::string()>& fn,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Convenience: an identity with uid, gid == uid unless given, no supplementary groups.
Identity UserIdentity(uid_t uid, gid_t gid, std::vector<gid_t> groups = {});

// A throwaway cgroup <root>/dbproxy-test-<pid>.slice/<unit>, where root is
// /sys/fs/cgroup/unified on a hybrid hierarchy or /sys/fs/cgroup on a pure cgroup2 mount.
// On a hybrid host the same path is also made in the name=systemd v1 hierarchy (best effort),
// so /proc/<pid>/cgroup names the unit whichever line a reader looks at.
// The destructor moves any remaining processes to the root and removes both directories.
class TestCgroup {
 public:
  // Returns nullptr with *error set (a message suitable for GTEST_SKIP) when cgroups cannot be
  // created here: no cgroup2 mount, not root, read-only /sys/fs/cgroup, ...
  static std::unique_ptr<TestCgroup> Create(const std::string& unit, std::string* error);
  ~TestCgroup();
  TestCgroup(const TestCgroup&) = delete;
  TestCgroup& operator=(const TestCgroup&) = delete;

  // The cgroup.procs files to join, for Identity::cgroup_procs.
  const std::vector<std::string>& procs_files() const { return procs_files_; }
  // The path as /proc/<pid>/cgroup shows it, e.g. "/dbproxy-test-42.slice/billing-etl.service".
  const std::string& relative_path() const { return relative_path_; }

 private:
  TestCgroup() = default;

  struct Hierarchy {
    std::string root;  // mount point
    bool created_slice = false;
    bool created_leaf = false;
  };
  std::vector<Hierarchy> hierarchies_;
  std::vector<std::string> procs_files_;
  std::string relative_path_;
};

}  // namespace dbproxy::testing
