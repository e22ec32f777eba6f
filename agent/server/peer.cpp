#include "agent/server/peer.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dirent.h>

#include <array>
#include <cerrno>
#include <string_view>
#include <utility>

#include "agent/server/loopback_peer.hpp"

namespace dbproxy {
namespace {

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77  // Linux 6.5; older headers lack it
#endif

int OpenPeerPidfd(int socket_fd, pid_t pid) {
  int pidfd = -1;
  socklen_t length = sizeof pidfd;
  if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &length) == 0 && pidfd >= 0) {
    return pidfd;
  }
  // Fallback: racy by nature (the peer may have exited and its PID been reused before this
  // call); the Alive() check after reading /proc narrows but cannot close that window.
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

// Re-reads a /proc pseudo-file through an fd kept open for the connection.
std::string PreadAll(int fd) {
  std::string text;
  std::array<char, 4096> buffer{};
  off_t offset = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer.data(), static_cast<std::size_t>(n));
    offset += n;
    // seq_file hands out the whole text in one read when it fits: a short read is the end,
    // which saves the extra read that would only return 0.
    if (static_cast<std::size_t>(n) < buffer.size() || text.size() > (1 << 16)) break;
  }
  return text;
}

// The target of /proc/<pid>/exe ("" when it cannot be read: exited, or no permission).
std::string ExeLink(int proc_dir) {
  std::array<char, 4096> exe{};
  const ssize_t length = ::readlinkat(proc_dir, "exe", exe.data(), exe.size() - 1);
  return length > 0 ? std::string(exe.data(), static_cast<std::size_t>(length)) : std::string();
}

// Whether the process of `proc_dir` (/proc/<pid>) has `socket:[inode]` open.
bool HoldsSocket(int proc_dir, std::uint64_t inode) {
  const int fd_dir = ::openat(proc_dir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_dir < 0) return false;
  DIR* dir = ::fdopendir(fd_dir);
  if (dir == nullptr) {
    ::close(fd_dir);
    return false;
  }
  const std::string wanted = "socket:[" + std::to_string(inode) + "]";
  bool found = false;
  std::array<char, 64> target{};
  while (!found) {
    const dirent* entry = ::readdir(dir);
    if (entry == nullptr) break;
    if (entry->d_name[0] == '.') continue;
    const ssize_t n = ::readlinkat(fd_dir, entry->d_name, target.data(), target.size());
    found = n > 0 && std::string_view(target.data(), static_cast<std::size_t>(n)) == wanted;
  }
  ::closedir(dir);
  return found;
}

}  // namespace

std::string UserName(uid_t uid) {
  std::array<char, 4096> buffer{};
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return {};
  }
  return found->pw_name;
}

std::string GroupName(gid_t gid) {
  std::array<char, 8192> buffer{};
  group entry{};
  group* found = nullptr;
  if (::getgrgid_r(gid, &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return {};
  }
  return found->gr_name;
}

Result<PeerAttestation> PeerAttestation::Attest(int socket_fd) {
  ucred cred{};
  socklen_t length = sizeof cred;
  if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0 || cred.pid <= 0) {
    return MakeError(Errc::kUnidentified, "the kernel gave no credentials for this connection");
  }
  PeerAttestation peer;
  peer.identity_.gid = cred.gid;
  if (Status bound = peer.Bind(cred.pid, cred.uid, OpenPeerPidfd(socket_fd, cred.pid)); !bound) {
    return std::move(bound).error();
  }
  return peer;
}

Result<PeerAttestation> PeerAttestation::AttestLoopbackPeer(int socket_fd) {
  Result<LoopbackPeer> found = FindLoopbackPeer(socket_fd);
  if (!found) return std::move(found).error();
  PeerAttestation peer;
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, found->pid, 0));
  if (Status bound = peer.Bind(found->pid, found->socket_uid, pidfd); !bound) {
    return std::move(bound).error();
  }
  // The scan named a PID; the pidfd was opened after it. The process behind the pidfd must
  // still hold the client socket, so a PID reused in between cannot take its place. Checked
  // after the pidfd exists: from here the PID cannot be reused while we hold it.
  if (!HoldsSocket(peer.proc_dir_, found->inode) || !peer.Alive()) {
    return MakeError(Errc::kUnidentified, "the connecting process could not be found");
  }
  return peer;
}

PeerAttestation PeerAttestation::Unattested() {
  PeerAttestation peer;
  peer.identity_.uid = static_cast<uid_t>(-1);
  peer.identity_.gid = static_cast<gid_t>(-1);
  peer.connected_uid_ = static_cast<uid_t>(-1);
  return peer;
}

Status PeerAttestation::Bind(pid_t pid, uid_t uid, int pidfd) {
  identity_.pid = pid;
  identity_.uid = uid;
  connected_uid_ = uid;
  pidfd_ = pidfd;
  if (pidfd_ < 0) return MakeError(Errc::kUnidentified, "the calling process is gone");
  const std::string dir = "/proc/" + std::to_string(pid);
  proc_dir_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (proc_dir_ >= 0) {
    status_fd_ = ::openat(proc_dir_, "status", O_RDONLY | O_CLOEXEC);
    cgroup_fd_ = ::openat(proc_dir_, "cgroup", O_RDONLY | O_CLOEXEC);
  }
  if (status_fd_ < 0 || cgroup_fd_ < 0) {
    return MakeError(Errc::kUnidentified, "the calling process is gone");
  }
  return ReadProc(/*attesting=*/true);
}

Status PeerAttestation::Refresh() {
  if (Unchanged()) return Status::Ok();
  return ReadProc(/*attesting=*/false);
}

bool PeerAttestation::Unchanged() {
  constexpr std::chrono::seconds kFullReadEvery{1};
  if (proc_dir_ < 0 || std::chrono::steady_clock::now() - full_read_at_ >= kFullReadEvery) {
    return false;
  }
  struct stat owner {};
  if (::fstat(proc_dir_, &owner) != 0 || owner.st_uid != owner_uid_ ||
      owner.st_gid != owner_gid_) {
    return false;
  }
  if (ExeLink(proc_dir_) != identity_.exe) return false;
  // After the reads: they describe the process the pidfd names only if it is still alive.
  return Alive();
}

Status PeerAttestation::ReadProc(bool attesting) {
  // What the cheap checks compare with until the next full read, taken *before* the reads: a
  // setuid between this stat and the status read leaves an owner older than the identity, so
  // the next check sees the difference and reads again (taken after, it would hide it).
  struct stat owner {};
  const bool owner_known = ::fstat(proc_dir_, &owner) == 0;
  const std::optional<ProcStatus> status = ParseProcStatus(PreadAll(status_fd_));
  const std::string cgroup_text = PreadAll(cgroup_fd_);
  std::string exe = ExeLink(proc_dir_);
  // Checked after the reads, on every request. At attestation the /proc fds were opened by PID
  // after accept: they describe the caller only if it was still alive afterwards (else the PID
  // may have been reused). Later, the fds stay bound to the process, but an exited process
  // that is not yet reaped (a zombie) still reads as its uid: whoever holds the connection now
  // (passed with SCM_RIGHTS, inherited by a child) must not act in its name. The pidfd says
  // it has exited, State: Z says so too, and so does its exe link going unreadable.
  const bool exe_lost = !attesting && exe_readable_ && exe.empty();
  if (!status || status->Exited() || exe_lost || !Alive()) {
    return MakeError(Errc::kUnidentified, "the calling process is gone");
  }
  if (status->effective_uid != connected_uid_) {
    return MakeError(Errc::kUnidentified, "the calling process changed its user id");
  }
  if (attesting) exe_readable_ = !exe.empty();
  owner_uid_ = owner_known ? owner.st_uid : static_cast<uid_t>(-1);
  owner_gid_ = owner_known ? owner.st_gid : static_cast<gid_t>(-1);
  full_read_at_ = owner_known ? std::chrono::steady_clock::now()
                              : std::chrono::steady_clock::time_point{};
  const bool ids_changed = identity_.user.empty() || status->effective_gid != identity_.gid ||
                           status->groups != identity_.groups;
  identity_.uid = status->effective_uid;
  identity_.gid = status->effective_gid;
  identity_.groups = status->groups;
  identity_.cgroup = CgroupPathFromCgroupFile(cgroup_text);
  identity_.unit = UnitFromCgroupFile(cgroup_text);
  identity_.exe = std::move(exe);
  if (ids_changed) {  // NSS lookups only when ids change: they may be slow (LDAP, sssd)
    identity_.user = UserName(identity_.uid);
    identity_.group = GroupName(identity_.gid);
    group_names_.clear();
    for (gid_t gid : identity_.groups) group_names_.push_back(GroupName(gid));
  }
  return Status::Ok();
}

bool PeerAttestation::Alive() const {
  pollfd fd{.fd = pidfd_, .events = POLLIN, .revents = 0};
  // A pidfd becomes readable when its process exits.
  return ::poll(&fd, 1, 0) == 0;
}

void PeerAttestation::Close() {
  for (int* fd : {&pidfd_, &proc_dir_, &status_fd_, &cgroup_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

PeerAttestation::PeerAttestation(PeerAttestation&& other) noexcept { *this = std::move(other); }

PeerAttestation& PeerAttestation::operator=(PeerAttestation&& other) noexcept {
  if (this != &other) {
    Close();
    identity_ = std::move(other.identity_);
    group_names_ = std::move(other.group_names_);
    connected_uid_ = other.connected_uid_;
    owner_uid_ = other.owner_uid_;
    owner_gid_ = other.owner_gid_;
    full_read_at_ = other.full_read_at_;
    exe_readable_ = other.exe_readable_;
    pidfd_ = std::exchange(other.pidfd_, -1);
    proc_dir_ = std::exchange(other.proc_dir_, -1);
    status_fd_ = std::exchange(other.status_fd_, -1);
    cgroup_fd_ = std::exchange(other.cgroup_fd_, -1);
  }
  return *this;
}

PeerAttestation::~PeerAttestation() { Close(); }

}  // namespace dbproxy
