#include "tests/integration/harness/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>
#include <thread>

#include "tests/integration/harness/util.hpp"

extern char** environ;

namespace dbproxy::testing {
namespace {

std::vector<std::string> MergeEnvironment(const std::vector<std::string>& overrides) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    merged[entry.substr(0, entry.find('='))] = entry;
  }
  for (const auto& entry : overrides) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos) {
      merged.erase(entry);
    } else {
      merged[entry.substr(0, eq)] = entry;
    }
  }
  std::vector<std::string> result;
  result.reserve(merged.size());
  for (auto& [key, entry] : merged) result.push_back(std::move(entry));
  return result;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> result;
  result.reserve(strings.size() + 1);
  for (auto& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

int OpenOrThrow(const std::filesystem::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("open " + path.string() + ": " + std::strerror(errno));
  return fd;
}

// Writes the decimal pid over the zeros of "LISTEN_PID=0000000000" (async-signal-safe).
void WritePid(char* slot, pid_t pid) {
  char digits[16];
  int n = 0;
  for (auto value = static_cast<unsigned long>(pid); value > 0 || n == 0; value /= 10) {
    digits[n++] = static_cast<char>('0' + value % 10);
  }
  char* out = slot + std::strlen("LISTEN_PID=");
  while (n > 0) *out++ = digits[--n];
  *out = '\0';
}

// Moves `fds` to 3, 4, ... without clobbering one another (two steps, via high numbers).
int PassFds(const std::vector<int>& fds) {
  std::vector<int>::size_type i = 0;
  int moved[8];
  for (; i < fds.size() && i < 8; ++i) {
    moved[i] = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 64);
    if (moved[i] < 0) return errno;
  }
  for (i = 0; i < fds.size() && i < 8; ++i) {
    if (::dup2(moved[i], 3 + static_cast<int>(i)) < 0) return errno;  // clears close-on-exec
  }
  return 0;
}

// Child side of Process: never returns. Reports a failure as "<step>:<errno>" on `report_fd`.
[[noreturn]] void ExecChild(const ProcessOptions& options, const std::vector<int>& stdio,
                            const std::vector<int>& cgroup_fds, char** argv, char** envp,
                            int report_fd, char* listen_pid_slot) {
  const char* step = "dup2";
  int err = 0;
  for (int i = 0; i < 3 && err == 0; ++i) {
    if (::dup2(stdio[static_cast<std::size_t>(i)], i) < 0) err = errno;
  }
  if (err == 0) err = internal::ApplyIdentityInChild(options.identity, cgroup_fds, &step);
  if (err == 0 && !options.pass_fds.empty()) {
    step = "pass fds";
    // The failure report pipe may sit at 3 or 4: move it out of the way first.
    const int high = ::fcntl(report_fd, F_DUPFD_CLOEXEC, 64);
    if (high >= 0) report_fd = high;
    err = PassFds(options.pass_fds);
  }
  if (listen_pid_slot != nullptr) WritePid(listen_pid_slot, ::getpid());
  if (err == 0) {
    // Set after the uid change, which clears it: the child must not outlive a crashed test.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    step = "execve";
    ::execve(argv[0], argv, envp);
    err = errno;
  }
  const int value = err;
  (void)!::write(report_fd, step, std::strlen(step));
  (void)!::write(report_fd, &value, sizeof(value));
  ::_exit(127);
}

}  // namespace

namespace internal {

std::vector<int> OpenCgroupFds(const Identity& identity) {
  std::vector<int> fds;
  for (const auto& procs : identity.cgroup_procs) {
    const int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      const int saved = errno;
      CloseFds(fds);
      throw std::runtime_error("open " + procs + ": " + std::strerror(saved));
    }
    fds.push_back(fd);
  }
  return fds;
}

void CloseFds(std::vector<int>& fds) {
  for (const int fd : fds) ::close(fd);
  fds.clear();
}

int ApplyIdentityInChild(const Identity& identity, const std::vector<int>& cgroup_fds,
                         const char** step) {
  *step = "join cgroup";
  for (const int fd : cgroup_fds) {
    if (::write(fd, "0", 1) != 1) return errno;
  }
  if (!identity.uid.has_value()) return 0;
  *step = "setgroups";
  if (::setgroups(identity.groups.size(), identity.groups.data()) != 0) return errno;
  *step = "setresgid";
  if (::setresgid(identity.gid, identity.gid, identity.gid) != 0) return errno;
  *step = "setresuid";
  if (::setresuid(*identity.uid, *identity.uid, *identity.uid) != 0) return errno;
  return 0;
}

}  // namespace internal

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" +
                      prefix + "-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
  }
  ::chmod(templ.c_str(), 0755);
  path_ = templ;
}

TempDir::~TempDir() {
  // For debugging a failure: DBPROXY_IT_KEEP_TMP=1 keeps logs, configs and sockets around.
  if (const char* keep = std::getenv("DBPROXY_IT_KEEP_TMP"); keep != nullptr && *keep == '1') {
    std::fprintf(stderr, "kept %s\n", path_.c_str());
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

Process::Process(ProcessOptions options) : options_(std::move(options)) {
  if (options_.args.empty()) throw std::runtime_error("Process: no binary given");
  std::vector<std::string> args = options_.args;
  std::vector<std::string> env_overrides = options_.env;
  if (options_.listen_pid) env_overrides.push_back("LISTEN_PID=0000000000");
  std::vector<std::string> env = MergeEnvironment(env_overrides);
  std::vector<char*> argv = CStrings(args);
  std::vector<char*> envp = CStrings(env);
  char* listen_pid_slot = nullptr;
  for (char* entry : envp) {
    if (options_.listen_pid && entry != nullptr && std::strncmp(entry, "LISTEN_PID=", 11) == 0) {
      listen_pid_slot = entry;
    }
  }
  const auto in = options_.stdin_file.empty() ? std::filesystem::path("/dev/null")
                                              : options_.stdin_file;
  std::vector<int> stdio{OpenOrThrow(in, O_RDONLY),
                         OpenOrThrow(options_.stdout_file, O_WRONLY | O_CREAT | O_TRUNC),
                         OpenOrThrow(options_.stderr_file, O_WRONLY | O_CREAT | O_TRUNC)};
  std::vector<int> cgroup_fds = internal::OpenCgroupFds(options_.identity);
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");

  pid_ = ::fork();
  if (pid_ == 0) {
    ExecChild(options_, stdio, cgroup_fds, argv.data(), envp.data(), report[1], listen_pid_slot);
  }
  const int fork_errno = errno;
  ::close(report[1]);
  internal::CloseFds(stdio);
  internal::CloseFds(cgroup_fds);
  if (pid_ < 0) {
    ::close(report[0]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(fork_errno));
  }
  std::string failure;
  char buf[128];
  ssize_t n;
  while ((n = ::read(report[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) failure.append(buf, static_cast<std::size_t>(n));
  }
  ::close(report[0]);
  if (!failure.empty()) {
    Reap(true);
    int err = 0;
    if (failure.size() >= sizeof(err)) {
      std::memcpy(&err, failure.data() + failure.size() - sizeof(err), sizeof(err));
      failure.resize(failure.size() - sizeof(err));
    }
    throw std::runtime_error("starting " + options_.args[0] + ": " + failure + ": " +
                             std::strerror(err));
  }
}

Process::~Process() {
  if (pid_ > 0 && !wait_status_.has_value()) Stop(std::chrono::seconds(2));
}

bool Process::Reap(bool block) {
  if (wait_status_.has_value()) return true;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    wait_status_ = status;
    return true;
  }
  return r < 0;  // ECHILD: nothing left to wait for
}

bool Process::Running() { return !Reap(false); }

bool Process::Wait(std::chrono::milliseconds timeout) {
  return WaitFor([this] { return Reap(false); }, timeout, std::chrono::milliseconds(10));
}

int Process::Stop(std::chrono::milliseconds grace) {
  if (!Reap(false)) {
    ::kill(pid_, SIGTERM);
    if (!Wait(grace)) {
      ::kill(pid_, SIGKILL);
      Reap(true);
    }
  }
  return ExitCode().value_or(-1);
}

std::optional<int> Process::ExitCode() {
  if (!Reap(false) || !wait_status_.has_value()) return std::nullopt;
  const int status = *wait_status_;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

bool Process::Signaled() {
  return Reap(false) && wait_status_.has_value() && WIFSIGNALED(*wait_status_);
}

bool Process::CoreDumped() {
  return Reap(false) && wait_status_.has_value() && WIFSIGNALED(*wait_status_) &&
         WCOREDUMP(*wait_status_);
}

std::string Process::Stdout() const { return ReadFile(options_.stdout_file); }
std::string Process::Stderr() const { return ReadFile(options_.stderr_file); }

}  // namespace dbproxy::testing
