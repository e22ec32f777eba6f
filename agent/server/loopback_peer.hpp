// FindLoopbackPeer: which local process is on the other end of an accepted loopback TCP
// connection, from the kernel only. TCP has no SO_PEERCRED, and "it came from 127.0.0.1" says
// only that something on this host connected, so the client's own socket is looked up.
//
// How: both addresses must be loopback (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104). The client
// socket is the one whose 4-tuple mirrors ours; NETLINK_SOCK_DIAG finds it by that exact tuple
// (in the agent's network namespace) and reports the uid that created it and its inode (0 once
// no process has it open: orphaned, TIME_WAIT). Every process whose /proc/<pid>/fd links to
// socket:[inode] is a holder. Each holder is then bound to a /proc/<pid> directory fd, seen to
// hold the socket again through it, and its status and cgroup are read through that same fd,
// so a recycled PID cannot lend its identity.
//
// Guarantees, on success: during the call the client socket was open in at least one process
// the agent may inspect; all such holders (thread-group leaders) had one effective uid, one
// effective gid and one cgroup, and that uid created the socket. Refusals, all
// Errc::kUnidentified with these messages (log_detail says why):
//   "the peer is not on this host's loopback"        not a loopback TCP connection
//   "the connection's addresses could not be read"   getsockname/getpeername failed
//   "the connecting process could not be found"      no such socket, inode 0, no holder (fd
//       closed or in flight in an SCM_RIGHTS message), a holder exited mid-lookup, or the scan
//       cap (65536 processes, 2^20 fds) was reached
//   "the connection is held by processes with different identities"
//   "the connection was passed on by another user"   the holders' euid is not the creator's
// Privilege: reading other users' /proc/<pid>/fd needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH.
// Processes the agent may not inspect are skipped (even root may be denied, e.g. a sandbox's
// manager): a hidden holder shares the socket with visible holders of the creator's uid, which
// is the fd-sharing residual below; when every holder is hidden the call refuses.
//
// Residual risks. A process that can ptrace a holder, or that receives the fd (SCM_RIGHTS,
// fork) while a holder lives, acts as that holder: the kernel cannot tell fd sharers apart. A
// thread that unshared its fd table, or changed its own credentials with a raw syscall, is seen
// through its thread-group leader; /proc mounted with hidepid hides holders. Any local user can
// slow every lookup by opening many fds (one readlink each, see Cost) or, past the cap, make
// lookups refuse. The scan is not atomic: it races with fork, exec, exit and fd passing. It is
// still sound: each race (a) adds a holder that got the fd from a live holder of the checked
// identity (fork, SCM_RIGHTS): the sharing residual, no new power; (b) removes a holder (exit,
// close): fewer processes can use the connection; or (c) changes a holder's identity after its
// status was read (setuid exec, setresuid, cgroup move). For (c) the returned pid is only a
// snapshot: the CALLER must bind it to a pidfd and re-attest through that (alive, effective uid
// still socket_uid, /proc/<pid>/fd still holds socket:[inode]) before serving and on every
// request, as PeerAttestation does for Unix sockets; that re-check also catches the pid being
// recycled before pidfd_open. Another holder changing identity later keeps a connection opened
// under the checked one, as in (a).
//
// Cost, measured on the CI VM (2 shared vCPUs under load ~2.7, kernel 6.18, Debug build, 72-89
// processes, 360-500 fds, 200-call loops): 0.85 to 1.5 ms per call, ~440 syscalls. It grows
// with the host: ~3 us per open fd anywhere on it (10,000 more fds: ~33 ms per call), ~10 us
// per process. It blocks: run it off the event loop thread and bound how many run at once.
//
// Threading: reentrant; each call opens and closes its own netlink socket and /proc fds.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "common/core/result.hpp"

namespace dbproxy {

struct LoopbackPeer {
  pid_t pid = 0;                // a process holding the client end (the lowest pid of the holders)
  uid_t socket_uid = 0;         // the uid that owns the client socket (inet_diag idiag_uid)
  std::uint64_t inode = 0;      // the client socket's inode
  std::uint64_t cgroup_id = 0;  // INET_DIAG_CGROUP_ID when the kernel reports it (>= 5.7), else 0
};

// Finds the process on the other end of `socket_fd`, an accepted TCP connection (not owned).
// Blocking: one netlink round trip (1 s receive timeout) and a scan of /proc. Errors: see above,
// all Errc::kUnidentified.
[[nodiscard]] Result<LoopbackPeer> FindLoopbackPeer(int socket_fd);

}  // namespace dbproxy
