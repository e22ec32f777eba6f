// CallerIdentity: what the kernel says about the process on the other end of a socket, and the
// pure parsers for the /proc texts it is built from. The agent reads the files; this parses them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dbproxy {

struct CallerIdentity {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups
  std::string user;           // name of uid; empty when it has none
  std::string group;          // name of gid; empty when it has none
  std::string exe;            // /proc/<pid>/exe target; empty when unreadable
  std::string unit;           // systemd unit from the cgroup path; empty when none
  std::string cgroup;         // the cgroup path itself

  bool InGroup(gid_t id) const;
};

// The systemd unit of a process from the text of /proc/<pid>/cgroup: the first path component
// that is not a slice (".slice"), in the unified (cgroup2, "0::") hierarchy, else in the
// "name=systemd" v1 hierarchy. Examples: "0::/system.slice/billing-etl.service" ->
// "billing-etl.service"; "0::/user.slice/user-1000.slice/session-3.scope" -> "session-3.scope";
// "0::/" -> "".
std::string UnitFromCgroupFile(std::string_view proc_cgroup_text);
// The path used for the unit: unified hierarchy first, else name=systemd; "/" when neither.
std::string CgroupPathFromCgroupFile(std::string_view proc_cgroup_text);

struct ProcStatus {
  char state = '?';  // the State: letter: R, S, D, T, t, Z (zombie), X (dead), I, ...
  uid_t real_uid = 0;
  uid_t effective_uid = 0;
  gid_t real_gid = 0;
  gid_t effective_gid = 0;
  std::vector<gid_t> groups;

  // The process has exited: a zombie (not yet reaped, its status still readable) or dead.
  // Its uid and groups are those it had, and its connections may be held by anyone now.
  bool Exited() const { return state == 'Z' || state == 'X'; }
};
// Parses the State:, Uid:, Gid: and Groups: lines of /proc/<pid>/status; nullopt when any is
// missing or malformed. State is one ASCII letter, then the end or a space ("Z (zombie)").
std::optional<ProcStatus> ParseProcStatus(std::string_view proc_status_text);

}  // namespace dbproxy
