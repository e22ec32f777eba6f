#include "tests/integration/harness/run_as.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/integration/harness/util.hpp"

namespace dbproxy::testing {
namespace {

constexpr long kCgroup2Magic = 0x63677270;  // CGROUP2_SUPER_MAGIC
constexpr long kCgroup1Magic = 0x27e0eb;    // CGROUP_SUPER_MAGIC

bool IsMount(const std::string& path, long magic) {
  struct statfs fs {};
  return ::statfs(path.c_str(), &fs) == 0 && static_cast<long>(fs.f_type) == magic;
}

void WriteAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

[[noreturn]] void RunChild(const Identity& who, const std::vector<int>& cgroup_fds,
                           const std::function<std::string()>& fn, int out_fd) {
  const char* step = "";
  const int err = internal::ApplyIdentityInChild(who, cgroup_fds, &step);
  if (err != 0) {
    WriteAll(out_fd, std::string("E") + step + ": " + std::strerror(err));
    ::_exit(1);
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::string message;
  try {
    message = "O" + fn();
  } catch (const std::exception& e) {
    message = std::string("Eexception: ") + e.what();
  } catch (...) {
    message = "Eunknown exception";
  }
  WriteAll(out_fd, message);
  ::_exit(0);
}

// Moves every process listed in `dir`/cgroup.procs to the hierarchy root.
void EvacuateCgroup(const std::string& root, const std::string& dir) {
  std::istringstream pids(ReadFile(dir + "/cgroup.procs"));
  std::string pid;
  while (pids >> pid) {
    std::ofstream out(root + "/cgroup.procs");
    out << pid << "\n";
  }
}

// Removes dbproxy-test-<pid>.slice trees left by test processes that were killed (e.g. by a
// ctest timeout) before their destructors ran. Their processes died with them (PDEATHSIG), so
// the cgroups are empty and rmdir succeeds.
void SweepStaleCgroups(const std::string& root) {
  std::error_code ec;
  for (const auto& slice : std::filesystem::directory_iterator(root, ec)) {
    const std::string name = slice.path().filename().string();
    constexpr std::string_view kPrefix = "dbproxy-test-";
    if (!slice.is_directory() || name.rfind(kPrefix, 0) != 0 || !name.ends_with(".slice")) continue;
    const std::string pid = name.substr(kPrefix.size(), name.size() - kPrefix.size() - 6);
    if (pid == std::to_string(::getpid()) || std::filesystem::exists("/proc/" + pid)) continue;
    std::error_code inner;
    for (const auto& leaf : std::filesystem::directory_iterator(slice.path(), inner)) {
      if (leaf.is_directory()) ::rmdir(leaf.path().c_str());
    }
    ::rmdir(slice.path().c_str());
  }
}

}  // namespace

Identity UserIdentity(uid_t uid, gid_t gid, std::vector<gid_t> groups) {
  Identity id;
  id.uid = uid;
  id.gid = gid;
  id.groups = std::move(groups);
  return id;
}

RunAsResult RunAs(const Identity& who, const std::function<std::string()>& fn,
                  std::chrono::milliseconds timeout) {
  RunAsResult result;
  std::vector<int> cgroup_fds;
  try {
    cgroup_fds = internal::OpenCgroupFds(who);
  } catch (const std::exception& e) {
    result.error = e.what();
    return result;
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    internal::CloseFds(cgroup_fds);
    result.error = std::string("pipe2: ") + std::strerror(errno);
    return result;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    RunChild(who, cgroup_fds, fn, pipe_fds[1]);
  }
  ::close(pipe_fds[1]);
  internal::CloseFds(cgroup_fds);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    result.error = std::string("fork: ") + std::strerror(errno);
    return result;
  }

  std::string received;
  bool timed_out = false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // re-check the deadline
    char buf[4096];
    const ssize_t n = ::read(pipe_fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child is done
    received.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }

  if (timed_out) {
    result.error = "RunAs: child did not finish within " + std::to_string(timeout.count()) + " ms";
  } else if (received.empty()) {
    result.error = "RunAs: child ended without a result (wait status " +
                   std::to_string(status) + ")";
  } else if (received[0] == 'O') {
    result.ok = true;
    result.output = received.substr(1);
  } else {
    result.error = received.substr(1);
  }
  return result;
}

std::unique_ptr<TestCgroup> TestCgroup::Create(const std::string& unit, std::string* error) {
  std::string v2_root;
  if (IsMount("/sys/fs/cgroup", kCgroup2Magic)) {
    v2_root = "/sys/fs/cgroup";
  } else if (IsMount("/sys/fs/cgroup/unified", kCgroup2Magic)) {
    v2_root = "/sys/fs/cgroup/unified";
  } else {
    *error = "cgroups unavailable: no cgroup2 mount at /sys/fs/cgroup or /sys/fs/cgroup/unified";
    return nullptr;
  }
  std::unique_ptr<TestCgroup> group(new TestCgroup());
  const std::string slice = "/dbproxy-test-" + std::to_string(::getpid()) + ".slice";
  group->relative_path_ = slice + "/" + unit;

  std::vector<std::string> roots{v2_root};
  if (v2_root != "/sys/fs/cgroup" && IsMount("/sys/fs/cgroup/systemd", kCgroup1Magic)) {
    roots.push_back("/sys/fs/cgroup/systemd");
  }
  for (std::size_t i = 0; i < roots.size(); ++i) {
    SweepStaleCgroups(roots[i]);
    const bool required = i == 0;
    Hierarchy h{roots[i], false, false};
    const std::string slice_dir = h.root + slice;
    const std::string leaf_dir = h.root + group->relative_path_;
    if (::mkdir(slice_dir.c_str(), 0755) == 0) {
      h.created_slice = true;
    } else if (errno != EEXIST) {
      if (!required) continue;
      *error = "cgroups unavailable: mkdir " + slice_dir + ": " + std::strerror(errno);
      return nullptr;
    }
    if (::mkdir(leaf_dir.c_str(), 0755) == 0) {
      h.created_leaf = true;
    } else if (errno != EEXIST) {
      const int saved = errno;
      if (h.created_slice) ::rmdir(slice_dir.c_str());
      if (!required) continue;
      *error = "cgroups unavailable: mkdir " + leaf_dir + ": " + std::strerror(saved);
      return nullptr;
    }
    if (::access((leaf_dir + "/cgroup.procs").c_str(), W_OK) != 0) {
      if (!required) continue;
      *error = "cgroups unavailable: " + leaf_dir + "/cgroup.procs is not writable";
      group->hierarchies_.push_back(h);
      return nullptr;
    }
    group->hierarchies_.push_back(h);
    group->procs_files_.push_back(leaf_dir + "/cgroup.procs");
  }
  return group;
}

TestCgroup::~TestCgroup() {
  const std::string slice = relative_path_.substr(0, relative_path_.rfind('/'));
  for (const auto& h : hierarchies_) {
    const std::string leaf_dir = h.root + relative_path_;
    if (h.created_leaf) {
      EvacuateCgroup(h.root, leaf_dir);
      WaitFor([&] { return ::rmdir(leaf_dir.c_str()) == 0 || errno == ENOENT; },
              std::chrono::seconds(2));
    }
    if (h.created_slice) ::rmdir((h.root + slice).c_str());
  }
}

}  // namespace dbproxy::testing
