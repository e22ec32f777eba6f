#include "agent/server/loopback_peer.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/core/caller_identity.hpp"
#include "common/identity/sock_diag_reply.hpp"
#include "common/os/unique_fd.hpp"

namespace dbproxy {
namespace {

// Bounds on the /proc scan: past them the lookup refuses rather than guesses.
constexpr std::size_t kMaxProcesses = 65536;
constexpr std::size_t kMaxFds = std::size_t{1} << 20;
constexpr std::size_t kMaxProcFileBytes = std::size_t{1} << 16;
constexpr std::uint32_t kSequence = 1;  // the netlink socket is ours alone: one request per socket

constexpr const char* kNotLoopback = "the peer is not on this host's loopback";
constexpr const char* kNotFound = "the connecting process could not be found";

Error Unidentified(std::string message, std::string log_detail = {}) {
  return MakeError(Errc::kUnidentified, std::move(message), std::move(log_detail));
}

std::string ErrnoText(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// One end of the connection as inet_diag names it: address words and port in network byte
// order. IPv4-mapped IPv6 is reduced to IPv4: the kernel hashes such connections under their
// IPv4 tuple whichever family the client socket has.
struct SocketEnd {
  int family = AF_UNSPEC;
  std::array<std::uint32_t, 4> address{};
  std::uint16_t port = 0;
};

std::optional<SocketEnd> LoopbackEnd(const sockaddr_storage& storage) {
  SocketEnd end;
  if (storage.ss_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, &storage, sizeof in);
    end.family = AF_INET;
    end.address[0] = in.sin_addr.s_addr;
    end.port = in.sin_port;
  } else if (storage.ss_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, &storage, sizeof in6);
    end.port = in6.sin6_port;
    if (IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr)) {
      end.family = AF_INET6;
      std::memcpy(end.address.data(), &in6.sin6_addr, sizeof in6.sin6_addr);
      return end;
    }
    if (!IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) return std::nullopt;
    end.family = AF_INET;
    std::memcpy(end.address.data(), &in6.sin6_addr.s6_addr[12], sizeof end.address[0]);
  } else {
    return std::nullopt;
  }
  if ((ntohl(end.address[0]) >> 24) != 127) return std::nullopt;
  return end;
}

using DiagAnswer = SockDiagAnswer;

// Asks NETLINK_SOCK_DIAG for the socket whose source is the client end and destination ours.
Result<DiagAnswer> QueryClientSocket(const SocketEnd& client, const SocketEnd& server) {
  UniqueFd netlink(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!netlink.valid()) return Unidentified(kNotFound, ErrnoText("sock_diag socket"));
  // The kernel answers within sendto(); the timeout only keeps a broken kernel from hanging us.
  const timeval timeout{.tv_sec = 1, .tv_usec = 0};
  ::setsockopt(netlink.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

  struct {
    nlmsghdr header;
    inet_diag_req_v2 body;
  } request{};
  request.header.nlmsg_len = sizeof request;
  request.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.header.nlmsg_flags = NLM_F_REQUEST;
  request.header.nlmsg_seq = kSequence;
  request.body.sdiag_family = static_cast<std::uint8_t>(client.family);
  request.body.sdiag_protocol = IPPROTO_TCP;
  request.body.idiag_states = ~0U;  // any state: orphaned and TIME_WAIT sockets answer inode 0
  request.body.id.idiag_sport = client.port;
  request.body.id.idiag_dport = server.port;
  std::memcpy(request.body.id.idiag_src, client.address.data(), sizeof request.body.id.idiag_src);
  std::memcpy(request.body.id.idiag_dst, server.address.data(), sizeof request.body.id.idiag_dst);
  request.body.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  request.body.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(netlink.get(), &request, sizeof request, 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) != static_cast<ssize_t>(sizeof request)) {
    return Unidentified(kNotFound, ErrnoText("sock_diag send"));
  }
  alignas(nlmsghdr) std::array<char, 8192> reply{};
  sockaddr_nl from{};
  socklen_t from_length = sizeof from;
  ssize_t n = -1;
  do {
    n = ::recvfrom(netlink.get(), reply.data(), reply.size(), MSG_TRUNC,
                   reinterpret_cast<sockaddr*>(&from), &from_length);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Unidentified(kNotFound, ErrnoText("sock_diag receive"));
  if (static_cast<std::size_t>(n) > reply.size() || from.nl_pid != 0) {
    return Unidentified(kNotFound, "sock_diag: oversized reply or not from the kernel");
  }
  return ParseSockDiagReply(reply.data(), static_cast<std::size_t>(n), client.port, kSequence,
                            kNotFound);
}

// Calls visit(name) for each entry of directory fd `dir` but "." and "..", until visit returns
// false. False when the directory could not be read to the end (the process may have exited).
template <class Visit>
bool ForEachEntry(int dir, Visit&& visit) {
  alignas(dirent64) std::array<char, 8192> buffer;
  for (;;) {
    const ssize_t n = ::getdents64(dir, buffer.data(), buffer.size());
    if (n <= 0) return n == 0;
    for (ssize_t at = 0; at < n;) {
      const auto* entry = reinterpret_cast<const dirent64*>(buffer.data() + at);
      if (entry->d_reclen == 0 || entry->d_reclen > n - at) return false;
      at += entry->d_reclen;
      const std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      if (!visit(entry->d_name)) return true;
    }
  }
}

std::optional<pid_t> ParsePid(std::string_view name) {
  pid_t pid = 0;
  const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), pid);
  if (error != std::errc() || end != name.data() + name.size() || pid <= 0) return std::nullopt;
  return pid;
}

enum class FdScan { kHolds, kNotHeld, kDenied, kOverBudget };

// Whether the fd directory at `path` under directory fd `parent` has a link to `wanted`.
FdScan ScanFds(int parent, const char* path, std::string_view wanted, std::size_t& fds_left) {
  const UniqueFd fds(::openat(parent, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fds.valid()) return errno == EACCES || errno == EPERM ? FdScan::kDenied : FdScan::kNotHeld;
  FdScan result = FdScan::kNotHeld;
  std::array<char, 64> link{};
  const bool complete = ForEachEntry(fds.get(), [&](const char* name) {
    if (fds_left == 0) {
      result = FdScan::kOverBudget;
      return false;
    }
    --fds_left;
    const ssize_t n = ::readlinkat(fds.get(), name, link.data(), link.size());
    if (n < 0 && (errno == EACCES || errno == EPERM)) result = FdScan::kDenied;
    if (n == static_cast<ssize_t>(wanted.size()) &&
        std::memcmp(link.data(), wanted.data(), wanted.size()) == 0) {
      result = FdScan::kHolds;
    }
    return result == FdScan::kNotHeld;
  });
  // A process that exits mid-read ends with ENOENT: it holds nothing now. Any other failure
  // leaves its fds unseen, as if unreadable.
  if (!complete && errno != ENOENT && errno != ESRCH) return FdScan::kDenied;
  return result;
}

struct Holder {
  pid_t pid = 0;
  UniqueFd dir;  // /proc/<pid>: reads through it fail once that very process is gone
};

// Every thread-group leader with socket:[inode] open that the agent may inspect. Processes
// whose fds it may not read are skipped (root in a sandbox may still be denied its manager's):
// a hidden holder shares the socket with visible ones, which must be its creating user, so it
// is at most the residual "receives the fd while a holder lives"; all hidden means refused.
Result<std::vector<Holder>> FindHolders(std::uint64_t inode) {
  const std::string wanted = "socket:[" + std::to_string(inode) + "]";
  const UniqueFd proc(::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!proc.valid()) return Unidentified(kNotFound, ErrnoText("open /proc"));
  std::vector<pid_t> candidates;
  std::size_t processes = 0, denied = 0, fds_left = kMaxFds;
  std::optional<Error> stop;
  const bool complete = ForEachEntry(proc.get(), [&](const char* name) {
    const std::optional<pid_t> pid = ParsePid(name);
    if (!pid) return true;
    if (++processes > kMaxProcesses) {
      stop = Unidentified(kNotFound, "/proc: too many processes");
      return false;
    }
    const std::string fd_dir = std::string(name) + "/fd";
    switch (ScanFds(proc.get(), fd_dir.c_str(), wanted, fds_left)) {
      case FdScan::kHolds:
        candidates.push_back(*pid);
        break;
      case FdScan::kDenied:
        ++denied;
        break;
      case FdScan::kOverBudget:
        stop = Unidentified(kNotFound, "/proc: too many open fds");
        break;
      case FdScan::kNotHeld:
        break;
    }
    return !stop;
  });
  if (stop) return *std::move(stop);
  if (!complete) return Unidentified(kNotFound, ErrnoText("reading /proc"));
  // Bind each candidate to its process and look again through that binding, so the status
  // read later is of a process holding the socket, never of a recycled pid.
  std::vector<Holder> holders;
  for (const pid_t pid : candidates) {
    const std::string name = std::to_string(pid);
    UniqueFd dir(::openat(proc.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.valid() && ScanFds(dir.get(), "fd", wanted, fds_left) == FdScan::kHolds) {
      holders.push_back(Holder{.pid = pid, .dir = std::move(dir)});
    }
  }
  if (holders.empty()) {
    std::string detail = "no process holds " + wanted + " (closed, or in an SCM_RIGHTS message)";
    if (denied > 0) {
      detail += "; /proc/<pid>/fd of " + std::to_string(denied) +
                " processes was unreadable (other users' processes need CAP_SYS_PTRACE and "
                "CAP_DAC_READ_SEARCH)";
    }
    return Unidentified(kNotFound, std::move(detail));
  }
  return holders;
}

std::optional<std::string> ReadSmallFile(int dir, const char* name) {
  UniqueFd fd(::openat(dir, name, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  std::string text;
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || text.size() + static_cast<std::size_t>(n) > kMaxProcFileBytes) return std::nullopt;
    if (n == 0) return text;
    text.append(buffer.data(), static_cast<std::size_t>(n));
  }
}

struct HolderIdentity {
  uid_t uid = 0;  // effective
  gid_t gid = 0;  // effective
  std::string cgroup;
  bool operator==(const HolderIdentity&) const = default;
};

std::optional<HolderIdentity> ReadIdentity(int pid_dir) {
  const std::optional<std::string> status_text = ReadSmallFile(pid_dir, "status");
  std::optional<std::string> cgroup = ReadSmallFile(pid_dir, "cgroup");
  if (!status_text || !cgroup) return std::nullopt;
  const std::optional<ProcStatus> status = ParseProcStatus(*status_text);
  if (!status || status->Exited()) return std::nullopt;
  return HolderIdentity{
      .uid = status->effective_uid, .gid = status->effective_gid, .cgroup = std::move(*cgroup)};
}

// All holders must be one identity, and that identity must have created the socket.
Result<LoopbackPeer> Decide(const DiagAnswer& socket, const std::vector<Holder>& holders) {
  std::optional<HolderIdentity> first;
  pid_t lowest = holders.front().pid;
  for (const Holder& holder : holders) {
    std::optional<HolderIdentity> identity = ReadIdentity(holder.dir.get());
    const std::string who = "pid " + std::to_string(holder.pid);
    if (!identity) return Unidentified(kNotFound, who + " exited during the lookup");
    if (!first) {
      first = std::move(identity);
    } else if (*identity != *first) {
      return Unidentified("the connection is held by processes with different identities",
                          who + " has euid " + std::to_string(identity->uid) + ", another " +
                              std::to_string(first->uid) + " (or gid or cgroup differ)");
    }
    lowest = std::min(lowest, holder.pid);
  }
  if (first->uid != socket.uid) {
    return Unidentified("the connection was passed on by another user",
                        "socket created by uid " + std::to_string(socket.uid) + ", held by euid " +
                            std::to_string(first->uid));
  }
  return LoopbackPeer{.pid = lowest,
                      .socket_uid = socket.uid,
                      .inode = socket.inode,
                      .cgroup_id = socket.cgroup_id};
}

}  // namespace

Result<LoopbackPeer> FindLoopbackPeer(int socket_fd) {
  sockaddr_storage local{};
  sockaddr_storage remote{};
  socklen_t local_length = sizeof local;
  socklen_t remote_length = sizeof remote;
  int protocol = 0;
  socklen_t protocol_length = sizeof protocol;
  if (::getsockname(socket_fd, reinterpret_cast<sockaddr*>(&local), &local_length) != 0 ||
      ::getpeername(socket_fd, reinterpret_cast<sockaddr*>(&remote), &remote_length) != 0 ||
      ::getsockopt(socket_fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &protocol_length) != 0) {
    return Unidentified("the connection's addresses could not be read",
                        ErrnoText("getsockname/getpeername"));
  }
  const std::optional<SocketEnd> server = LoopbackEnd(local);
  const std::optional<SocketEnd> client = LoopbackEnd(remote);
  if (protocol != IPPROTO_TCP || !server || !client || server->family != client->family) {
    return Unidentified(kNotLoopback);
  }
  const Result<DiagAnswer> socket = QueryClientSocket(*client, *server);
  if (!socket) return socket.error();
  if (socket->inode == 0) {
    return Unidentified(kNotFound, "the client socket is no longer open (orphaned or TIME_WAIT)");
  }
  const Result<std::vector<Holder>> holders = FindHolders(socket->inode);
  if (!holders) return holders.error();
  return Decide(*socket, *holders);
}

}  // namespace dbproxy
