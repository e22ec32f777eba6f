// Peer attestation: who is on the other end of an accepted Unix socket, from the kernel only.
//
// At accept: SO_PEERCRED (pid, uid, gid at connect time) and a pidfd for that very process
// (SO_PEERPIDFD, or pidfd_open(pid) on kernels before 6.5). /proc/<pid> is then read for
// supplementary groups, exe and cgroup, and the pidfd is polled: if the process is gone, the PID
// may have been reused while we read, so the caller is refused. Identity is never cached by PID
// alone: the /proc fds stay open, bound to the process itself, and fail once it is reaped.
//
// What Refresh() checks before every request on a keep-alive connection (three syscalls):
//   - the pidfd is not readable (poll): the process that connected has not exited, so whoever
//     holds the connection now is still that process (or shares its fd while it lives);
//   - fstat of the open /proc/<pid> directory: its owner is the process's *effective* uid and
//     gid, computed by the kernel at each stat (task_dump_owner; the directory is exempt from
//     the non-dumpable rule), so a setuid/setgid since the last check is seen;
//   - the exe link (readlinkat): an exec of another binary is seen.
// When any of them changed, or the last full read is older than 1 s, status and cgroup are read
// again (uid, gid, supplementary groups, state, cgroup and unit) and the request is decided on
// what they say now, or refused when the effective uid differs from the connecting one. What
// only the full read would see within that second: setgroups() without a uid/gid change and a
// move to another cgroup. Both need privilege over the process (CAP_SETGID; write access to
// its cgroup) and run no new code in it: the code that holds the connection is the code that
// was attested. New code (exec), a dropped or changed identity (setuid, setgid) and a new
// holder (exit, then SCM_RIGHTS or inheritance) are all seen before the request is served.
//
// A connection outlives its connector when it is passed on (SCM_RIGHTS) or inherited by a
// child. Once the connector has exited, even as an unreaped zombie whose /proc/<pid>/status
// still shows its uid, no request on the connection is served in its name: the pidfd is
// readable, State: is Z or X, or its exe link, readable at attestation, no longer is. While the
// connector lives, a process it hands the connection to does act in its name (as with any fd
// it shares); the kernel gives no way to tell them apart.
//
// Threading: a PeerAttestation belongs to one connection; not synchronised.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/core/caller_identity.hpp"
#include "common/core/result.hpp"

namespace dbproxy {

class PeerAttestation {
 public:
  // Attests the peer of connected Unix socket `socket_fd` (not owned). kUnidentified when the
  // kernel gives no credentials or the process is gone.
  static Result<PeerAttestation> Attest(int socket_fd);
  // Attests the peer of an accepted loopback TCP connection `socket_fd` (not owned): the
  // process FindLoopbackPeer names, bound to a pidfd, which must still hold the client socket
  // (a PID reused since the scan does not) and whose effective uid must be the socket's owner.
  // Blocking (a /proc scan): call it off the event loop. kUnidentified when it cannot be done.
  static Result<PeerAttestation> AttestLoopbackPeer(int socket_fd);
  // The peer of a connection that could not be attested: uid and gid -1, no process. Only for
  // the record of the refusal its requests get; never decided on.
  static PeerAttestation Unattested();

  PeerAttestation(PeerAttestation&& other) noexcept;
  PeerAttestation& operator=(PeerAttestation&& other) noexcept;
  PeerAttestation(const PeerAttestation&) = delete;
  PeerAttestation& operator=(const PeerAttestation&) = delete;
  ~PeerAttestation();

  // Re-checks the process before a request (see above): the cheap checks, and the full reads
  // when something changed or a second passed. kUnidentified ("the calling process is gone")
  // when it exited, reaped or not, or when its effective uid no longer equals the uid it
  // connected with.
  Status Refresh();

  const CallerIdentity& identity() const { return identity_; }
  // Names of identity().groups, same order ("" where a group has no name).
  const std::vector<std::string>& group_names() const { return group_names_; }

 private:
  PeerAttestation() = default;
  // Opens the pidfd (`pidfd`, or pidfd_open) and the /proc fds of `pid`, then ReadProc.
  Status Bind(pid_t pid, uid_t uid, int pidfd);
  // The reads behind Attest (attesting) and Refresh, then the liveness checks.
  Status ReadProc(bool attesting);
  bool Alive() const;
  void Close();

  // The cheap checks of Refresh(); false when a full read is due.
  bool Unchanged();

  CallerIdentity identity_;
  std::vector<std::string> group_names_;
  uid_t connected_uid_ = 0;
  // The owner of /proc/<pid> (effective uid and gid) at the last full read, and its time.
  uid_t owner_uid_ = static_cast<uid_t>(-1);
  gid_t owner_gid_ = static_cast<gid_t>(-1);
  std::chrono::steady_clock::time_point full_read_at_{};
  bool exe_readable_ = false;  // /proc/<pid>/exe could be read at attestation
  int pidfd_ = -1;
  int proc_dir_ = -1;  // /proc/<pid>, opened once
  int status_fd_ = -1;
  int cgroup_fd_ = -1;
};

// Name lookups through NSS (getpwuid_r / getgrgid_r); "" when there is none.
std::string UserName(uid_t uid);
std::string GroupName(gid_t gid);

}  // namespace dbproxy
