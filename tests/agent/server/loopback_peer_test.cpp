// FindLoopbackPeer against real loopback TCP connections. Children forked here switch uid (and
// cgroup) to stand for other local callers, so the uid cases need root (as in CI); they skip
// otherwise. Each child signals readiness on a pipe and exits when the parent closes another.
#include "agent/server/loopback_peer.hpp"
#include "agent/server/http_server.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <thread>

#include "common/os/unique_fd.hpp"

namespace dbproxy {
namespace {

constexpr uid_t kOtherUid = 4242;
constexpr const char* kNotFound = "the connecting process could not be found";

// A TCP socket of `family` bound to `address` and an ephemeral port; listening when `listen`.
UniqueFd Bound(int family, const char* address, bool listen) {
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    if (::inet_pton(AF_INET, address, &in->sin_addr) != 1) return UniqueFd();
    length = sizeof *in;
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    if (::inet_pton(AF_INET6, address, &in6->sin6_addr) != 1) return UniqueFd();
    length = sizeof *in6;
    const int v6_only = 0;  // a v4-mapped address needs a dual-stack socket
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6_only, sizeof v6_only);
  }
  if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0 ||
      (listen && ::listen(fd.get(), 8) != 0)) {
    return UniqueFd();
  }
  return fd;
}

// A client socket of `family` connected to `listener` (the listener's address and port).
UniqueFd ConnectTo(int family, int listener) {
  sockaddr_storage target{};
  socklen_t length = sizeof target;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&target), &length);
  if (family == AF_INET && target.ss_family == AF_INET6) {  // to ::ffff:a.b.c.d as a.b.c.d
    sockaddr_in6 mapped{};
    std::memcpy(&mapped, &target, sizeof mapped);
    sockaddr_in in{
        .sin_family = AF_INET, .sin_port = mapped.sin6_port, .sin_addr = {}, .sin_zero = {}};
    std::memcpy(&in.sin_addr, &mapped.sin6_addr.s6_addr[12], sizeof in.sin_addr);
    std::memcpy(&target, &in, sizeof in);
    length = sizeof in;
  }
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid() || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&target), length) != 0) {
    return UniqueFd();
  }
  return fd;
}

UniqueFd AcceptOne(int listener) {
  pollfd ready{.fd = listener, .events = POLLIN, .revents = 0};
  if (::poll(&ready, 1, 5000) != 1) return UniqueFd();
  return UniqueFd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
}

// Writing "0" to a cgroup.procs file moves the writer into that cgroup.
bool JoinCgroup(const std::string& procs) {
  const UniqueFd fd(::open(procs.c_str(), O_WRONLY | O_CLOEXEC));
  return fd.valid() && ::write(fd.get(), "0", 1) == 1;
}

// A forked child: joins `cgroup_procs` (when given), switches to `uid` (when not the current
// one), runs `work`, reports, then waits until the parent closes `release_` and exits. It
// keeps every fd it inherited or opened until then. Reports: 'R' ready, 'C' could not join the
// cgroup, 'U' could not switch uid, 'E' work failed.
class Child {
 public:
  Child(uid_t uid, const std::function<bool()>& work, const std::string& cgroup_procs = "") {
    int ready[2];
    int release[2];
    if (::pipe2(ready, O_CLOEXEC) != 0 || ::pipe2(release, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(ready[0]);
      ::close(release[1]);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      char report = 'R';
      if (!cgroup_procs.empty() && !JoinCgroup(cgroup_procs)) {
        report = 'C';
      } else if (uid != ::geteuid() &&
                 (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 ||
                  ::setresuid(uid, uid, uid) != 0)) {
        report = 'U';
      } else if (!work()) {
        report = 'E';
      }
      if (::write(ready[1], &report, 1) != 1) ::_exit(1);
      char byte = 0;
      while (::read(release[0], &byte, 1) > 0) {
      }
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(release[0]);
    ready_ = UniqueFd(ready[0]);
    release_ = UniqueFd(release[1]);
  }
  ~Child() {
    release_ = UniqueFd();
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // The child's report (see above), or 0 when none came within 5 s.
  char Ready() {
    pollfd fd{.fd = ready_.get(), .events = POLLIN, .revents = 0};
    char report = 0;
    if (::poll(&fd, 1, 5000) != 1 || ::read(ready_.get(), &report, 1) != 1) return 0;
    return report;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  UniqueFd ready_;
  UniqueFd release_;
};

// A throwaway cgroup2 directory, removed once empty.
class TempCgroup {
 public:
  TempCgroup() {
    for (const char* root : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
      struct statfs fs {};
      if (::statfs(root, &fs) != 0 || fs.f_type != 0x63677270) continue;  // CGROUP2_SUPER_MAGIC
      const std::string dir = std::string(root) + "/dbproxy-loopback-" + std::to_string(::getpid());
      if (::mkdir(dir.c_str(), 0755) == 0) dir_ = dir;
      return;
    }
  }
  ~TempCgroup() {
    for (int i = 0; i < 100 && !dir_.empty() && ::rmdir(dir_.c_str()) != 0 && errno == EBUSY; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  TempCgroup(const TempCgroup&) = delete;
  TempCgroup& operator=(const TempCgroup&) = delete;

  bool valid() const { return !dir_.empty(); }
  std::string procs() const { return dir_ + "/cgroup.procs"; }
  // The cgroup id is the inode of its cgroup2 directory.
  std::uint64_t id() const {
    struct stat st {};
    return ::stat(dir_.c_str(), &st) == 0 ? st.st_ino : 0;
  }

 private:
  std::string dir_;
};

#define REQUIRE_ROOT() \
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch uid"

void ExpectRefused(int accepted, const std::string& message) {
  const Result<LoopbackPeer> peer = FindLoopbackPeer(accepted);
  ASSERT_FALSE(peer) << "pid " << peer->pid;
  EXPECT_EQ(peer.error().code, Errc::kUnidentified);
  EXPECT_EQ(peer.error().message, message) << peer.error().log_detail;
}

void ExpectThisProcess(int family, const char* address) {
  const UniqueFd listener = Bound(family, address, true);
  if (!listener.valid()) GTEST_SKIP() << address << " is not available here";
  const UniqueFd client = ConnectTo(family, listener.get());
  const UniqueFd accepted = AcceptOne(listener.get());
  ASSERT_TRUE(accepted.valid());
  const Result<LoopbackPeer> peer = FindLoopbackPeer(accepted.get());
  ASSERT_TRUE(peer) << peer.error().message << ": " << peer.error().log_detail;
  EXPECT_EQ(peer->pid, ::getpid());
  EXPECT_EQ(peer->socket_uid, ::getuid());
  EXPECT_NE(peer->inode, 0U);
}

TEST(LoopbackPeerTest, FindsThisProcessOverIpv4) {
  ExpectThisProcess(AF_INET, "127.0.0.1");
}

TEST(LoopbackPeerTest, FindsThisProcessOverIpv6) {
  ExpectThisProcess(AF_INET6, "::1");
}

TEST(LoopbackPeerTest, FindsThisProcessOverIpv4MappedAddresses) {
  // A dual-stack listener sees ::ffff:127.0.0.1 for clients of either family.
  const UniqueFd listener = Bound(AF_INET6, "::ffff:127.0.0.1", true);
  if (!listener.valid()) GTEST_SKIP() << "no dual-stack sockets here";
  for (int family : {AF_INET, AF_INET6}) {
    const UniqueFd client = ConnectTo(family, listener.get());
    const UniqueFd accepted = AcceptOne(listener.get());
    ASSERT_TRUE(accepted.valid()) << family;
    const Result<LoopbackPeer> peer = FindLoopbackPeer(accepted.get());
    ASSERT_TRUE(peer) << family << ": " << peer.error().log_detail;
    EXPECT_EQ(peer->pid, ::getpid());
  }
}

TEST(LoopbackPeerTest, FindsAChildThatConnectedAsAnotherUser) {
  REQUIRE_ROOT();
  const UniqueFd listener = Bound(AF_INET, "127.0.0.1", true);
  UniqueFd client;
  Child child(kOtherUid, [&] { return (client = ConnectTo(AF_INET, listener.get())).valid(); });
  ASSERT_EQ(child.Ready(), 'R');
  const UniqueFd accepted = AcceptOne(listener.get());
  const Result<LoopbackPeer> peer = FindLoopbackPeer(accepted.get());
  ASSERT_TRUE(peer) << peer.error().message << ": " << peer.error().log_detail;
  EXPECT_EQ(peer->pid, child.pid());
  EXPECT_EQ(peer->socket_uid, kOtherUid);
}

TEST(LoopbackPeerTest, ReturnsTheLowestPidOfHoldersWithOneIdentity) {
  const UniqueFd listener = Bound(AF_INET, "127.0.0.1", true);
  const UniqueFd client = ConnectTo(AF_INET, listener.get());
  const UniqueFd accepted = AcceptOne(listener.get());
  Child child(::geteuid(), [] { return true; });  // inherits a copy of `client`
  ASSERT_EQ(child.Ready(), 'R');
  const Result<LoopbackPeer> peer = FindLoopbackPeer(accepted.get());
  ASSERT_TRUE(peer) << peer.error().message << ": " << peer.error().log_detail;
  EXPECT_EQ(peer->pid, std::min(::getpid(), child.pid()));
}

TEST(LoopbackPeerTest, RefusesAConnectionPassedOnToAnotherUser) {
  REQUIRE_ROOT();
  const UniqueFd listener = Bound(AF_INET, "127.0.0.1", true);
  UniqueFd client = ConnectTo(AF_INET, listener.get());
  const UniqueFd accepted = AcceptOne(listener.get());
  Child child(kOtherUid, [] { return true; });
  ASSERT_EQ(child.Ready(), 'R');
  client = UniqueFd();  // only the child holds the client end now
  ExpectRefused(accepted.get(), "the connection was passed on by another user");
}

TEST(LoopbackPeerTest, RefusesHoldersWithDifferentUids) {
  REQUIRE_ROOT();
  const UniqueFd listener = Bound(AF_INET, "127.0.0.1", true);
  const UniqueFd client = ConnectTo(AF_INET, listener.get());
  const UniqueFd accepted = AcceptOne(listener.get());
  Child child(kOtherUid, [] { return true; });
  ASSERT_EQ(child.Ready(), 'R');
  ExpectRefused(accepted.get(), "the connection is held by processes with different identities");
}

TEST(LoopbackPeerTest, RefusesHoldersInDifferentCgroups) {
  REQUIRE_ROOT();
  const TempCgroup cgroup;
  if (!cgroup.valid()) GTEST_SKIP() << "cannot create a cgroup2 directory here";
  const UniqueFd listener = Bound(AF_INET, "127.0.0.1", true);
  const UniqueFd client = ConnectTo(AF_INET, listener.get());
  const UniqueFd accepted = AcceptOne(listener.get());
  Child child(
      ::geteuid(), [] { return true; }, cgroup.procs());
  const char report = child.Ready();
  if (report == 'C') GTEST_SKIP() << "cannot move a process into a new cgroup here";
  ASSERT_EQ(report, 'R');
  ExpectRefused(accepted.get(), "the connection is held by processes with different identities");
}

TEST(LoopbackPeerTest, ReportsTheConnectorsCgroupId) {
  REQUIRE_ROOT();
  const TempCgroup cgroup;
  if (!cgroup.valid()) GTEST_SKIP() << "cannot create a cgroup2 directory here";
  const UniqueFd listener = Bound(AF_INET, "127.0.0.1", true);
  UniqueFd client;
  Child child(
      ::geteuid(), [&] { return (client = ConnectTo(AF_INET, listener.get())).valid(); },
      cgroup.procs());
  const char report = child.Ready();
  if (report == 'C') GTEST_SKIP() << "cannot move a process into a new cgroup here";
  ASSERT_EQ(report, 'R');
  const UniqueFd accepted = AcceptOne(listener.get());
  const Result<LoopbackPeer> peer = FindLoopbackPeer(accepted.get());
  ASSERT_TRUE(peer) << peer.error().message << ": " << peer.error().log_detail;
  EXPECT_EQ(peer->pid, child.pid());
  if (peer->cgroup_id == 0) GTEST_SKIP() << "the kernel does not report INET_DIAG_CGROUP_ID";
  EXPECT_EQ(peer->cgroup_id, cgroup.id());
}

TEST(LoopbackPeerTest, RefusesWhenTheClientEndIsClosed) {
  const UniqueFd listener = Bound(AF_INET, "127.0.0.1", true);
  UniqueFd client = ConnectTo(AF_INET, listener.get());
  const UniqueFd accepted = AcceptOne(listener.get());
  client = UniqueFd();  // orphaned (FIN_WAIT): the kernel reports inode 0
  ExpectRefused(accepted.get(), kNotFound);
}

TEST(LoopbackPeerTest, RefusesWhatIsNotALoopbackTcpConnection) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  const UniqueFd left(pair[0]), right(pair[1]);
  ExpectRefused(left.get(), "the peer is not on this host's loopback");
  const UniqueFd listener = Bound(AF_INET, "127.0.0.1", true);
  ExpectRefused(listener.get(), "the connection's addresses could not be read");

  // A connection to this host's own non-loopback address is local, but not loopback.
  ifaddrs* list = nullptr;
  ASSERT_EQ(::getifaddrs(&list), 0);
  std::string lan_address;
  for (const ifaddrs* at = list; at != nullptr && lan_address.empty(); at = at->ifa_next) {
    if (at->ifa_addr == nullptr || at->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(at->ifa_addr)->sin_addr, text,
                sizeof text);
    if (std::string(text).rfind("127.", 0) != 0) lan_address = text;
  }
  ::freeifaddrs(list);
  if (lan_address.empty()) GTEST_SKIP() << "no non-loopback IPv4 address here";
  const UniqueFd lan_listener = Bound(AF_INET, lan_address.c_str(), true);
  const UniqueFd client = ConnectTo(AF_INET, lan_listener.get());
  const UniqueFd accepted = AcceptOne(lan_listener.get());
  ASSERT_TRUE(accepted.valid());
  ExpectRefused(accepted.get(), "the peer is not on this host's loopback");
}

// Not a check: prints what one lookup costs here (the figure quoted in loopback_peer.hpp).
TEST(LoopbackPeerTest, PrintsTheCostOfOneLookup) {
  const UniqueFd listener = Bound(AF_INET, "127.0.0.1", true);
  const UniqueFd client = ConnectTo(AF_INET, listener.get());
  const UniqueFd accepted = AcceptOne(listener.get());
  constexpr int kCalls = 200;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCalls; ++i)
    ASSERT_TRUE(FindLoopbackPeer(accepted.get()));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  std::size_t processes = 0, fds = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    ++processes;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(entry.path() / "fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++fds;
    }
  }
  std::cout << "FindLoopbackPeer: "
            << std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count() / kCalls
            << " us per call with " << processes << " processes, " << fds << " fds\n";
}

// The loopback listener's guard against DNS rebinding: a browser made to call the port names
// the attacker's host in Host.
TEST(LoopbackHostTest, OnlyLoopbackNamesPass) {
  for (const char* host : {"127.0.0.1:8765", "127.0.0.1", "127.9.9.9:1", "localhost:8765",
                           "localhost", "[::1]:8765", "[::1]"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"", "evil.example.com", "evil.example.com:8765", "10.0.0.1:8765",
                           "[::2]:8765", "[::1", "[::1]x", "127.0.0.1.evil.com", "0.0.0.0:8765",
                           "localhost.evil.com", "128.0.0.1"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

}  // namespace
}  // namespace dbproxy
