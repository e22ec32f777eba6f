// Secret hygiene after a full scenario (enrolment, tokens of several scopes, proxied calls,
// refusals and malformed requests): the client secret, the master key and every issued token
// appear in no file the agent wrote, not in its stdout/stderr, /proc/<pid>/environ or cmdline;
// the key, store, state, audit file and sockets have their modes; and a crash of the agent
// leaves no core dump (PR_SET_DUMPABLE 0, RLIMIT_CORE 0). The journald copies are caught by a
// journal socket of the test's own, in a private mount namespace (nothing else on the host
// sees it). Secrets in dumpable memory are AuditTest.NoSecretOrTokenInDumpableMemory's; the
// federation key's, FederationTest's.
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness/integration_fixture.hpp"

namespace dbproxy::testing {
namespace {

// Lowercase hex of `bytes`.
std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

mode_t ModeOf(const std::filesystem::path& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return 07777;
  return st.st_mode & 07777;
}

// journald's socket, as this process and the agents it starts see it: in a private mount
// namespace, a tmpfs on /run/systemd holding a datagram socket at journal/socket, drained by a
// thread. The rest of the host (other tests included) keeps its own /run/systemd.
class CapturedJournal {
 public:
  ~CapturedJournal() { Stop(); }

  // "" once listening, else why not (the test then skips this part).
  std::string Start() {
    if (::unshare(CLONE_NEWNS) != 0) return std::string("unshare: ") + std::strerror(errno);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", "/run/systemd", "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0755") !=
            0) {
      return std::string("mount: ") + std::strerror(errno);
    }
    std::filesystem::create_directories("/run/systemd/journal");
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, "/run/systemd/journal/socket");
    const int buffer = 8 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      return std::string("bind: ") + std::strerror(errno);
    }
    ::chmod(address.sun_path, 0666);
    reader_ = std::thread([this] {
      std::vector<char> datagram(1 << 17);
      while (!stop_) {
        pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const ssize_t n = ::recv(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT);
        if (n <= 0) continue;
        std::lock_guard lock(mutex_);
        received_.append(datagram.data(), static_cast<std::size_t>(n));
        ++datagrams_;
      }
    });
    return "";
  }

  void Stop() {
    stop_ = true;
    if (reader_.joinable()) reader_.join();
    if (fd_ >= 0) {
      ::close(fd_);
      // Later tests in this process (a whole-binary run) see the host's /run/systemd again.
      ::umount2("/run/systemd", MNT_DETACH);
    }
    fd_ = -1;
  }

  std::string Received() {
    std::lock_guard lock(mutex_);
    return received_;
  }
  int datagrams() {
    std::lock_guard lock(mutex_);
    return datagrams_;
  }

 private:
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread reader_;
  std::mutex mutex_;
  std::string received_;
  int datagrams_ = 0;
};

class SecretHygieneTest : public IntegrationTest {};

TEST_F(SecretHygieneTest, NoSecretInAnyFileLogOrProcEntryAndNoCoreDump) {
  std::string& policy = agent_->options().policy;
  const std::string actions = "\"token:sql\"]";
  policy.replace(policy.find(actions), actions.size(), "\"token:sql\", \"clusters.read\"]");
  agent_->WriteConfig();
  // The agent inherits an unlimited core size (as from a shell with `ulimit -c unlimited`):
  // only its own hardening can keep it from dumping.
  rlimit original{};
  ASSERT_EQ(::getrlimit(RLIMIT_CORE, &original), 0);
  const rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
  ASSERT_EQ(::setrlimit(RLIMIT_CORE, &unlimited), 0);
  CapturedJournal journal;
  const std::string no_journal = journal.Start();
  const HarnessStatus enrolled = StartAndEnroll();
  ASSERT_EQ(::setrlimit(RLIMIT_CORE, &original), 0);
  ASSERT_TRUE(enrolled.ok()) << enrolled.error;

  // The scenario: tokens, proxied calls allowed and refused, malformed and oversized requests.
  UnixHttpClient client = agent_->Client();
  for (const char* body : {"{}", R"({"scope":"sql"})", R"({"scope":"sql","min_ttl_seconds":5})"}) {
    ASSERT_EQ(RequestToken(client, body).status, 200);
  }
  EXPECT_EQ(client.Get("/api/2.1/clusters/list").status, 200);
  EXPECT_EQ(client.Post("/api/2.1/clusters/create", R"({"num_workers":1})").status, 403);
  EXPECT_EQ(client.Post("/v1/token", "{not json").status, 400);
  client.Close();
  EXPECT_EQ(agent_->Client().Request("GET", "/v1/whoami", "",
                                     {{"X-Big", std::string(100 * 1024, 'x')}})
                .status,
            413);
  const HttpResponse huge =
      agent_->Client().Request("POST", "/v1/token", "", {{"Content-Length", "10000000000"}});
  EXPECT_TRUE(huge.status == 400 || huge.status == 413) << huge.Describe();
  const CtlResult tokens = MakeCtl().Run({"tokens"});
  EXPECT_EQ(tokens.exit_code, 0) << tokens.Describe();

  std::vector<std::pair<std::string, std::string>> secrets = {{"client secret", kSecret}};
  const std::string key = ReadFile(agent_->key_file());
  ASSERT_FALSE(key.empty());
  secrets.emplace_back("master key", key);
  secrets.emplace_back("master key (hex)", Hex(key));
  for (const std::string& token : IssuedTokens()) secrets.emplace_back("issued token", token);
  ASSERT_GE(secrets.size(), 5u);

  // Every file under the agent's directory (config, policy, state, audit, its stdout/stderr),
  // but the key file itself.
  const pid_t pid = agent_->process()->pid();
  std::vector<std::pair<std::string, std::string>> places;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(agent_->dir())) {
    if (!entry.is_regular_file() || entry.path() == agent_->key_file()) continue;
    places.emplace_back(entry.path().string(), ReadFile(entry.path()));
  }
  places.emplace_back("stderr", agent_->Stderr());
  if (no_journal.empty()) {
    // Every audit record was copied to journald (MESSAGE= and DBPROXY_* fields).
    EXPECT_TRUE(WaitFor([&] { return journal.Received().find("DBPROXY_") != std::string::npos; },
                        std::chrono::seconds(5)))
        << "nothing reached the journal socket";
    places.emplace_back("journald datagrams", journal.Received());
    std::printf("journald: %d datagrams captured and scanned\n", journal.datagrams());
  } else {
    std::printf("journald not scanned: %s\n", no_journal.c_str());
  }
  places.emplace_back("/proc/<pid>/environ", ReadFile("/proc/" + std::to_string(pid) + "/environ"));
  places.emplace_back("/proc/<pid>/cmdline", ReadFile("/proc/" + std::to_string(pid) + "/cmdline"));
  ASSERT_GE(places.size(), 6u);
  for (const auto& [where, text] : places) {
    for (const auto& [what, secret] : secrets) {
      EXPECT_EQ(text.find(secret), std::string::npos) << what << " found in " << where;
    }
  }

  // Modes: nothing secret is readable by others, the sockets are what the docs say.
  EXPECT_EQ(ModeOf(agent_->key_file()) & 077, 0u) << "master key";
  EXPECT_EQ(ModeOf(agent_->store_file()), 0600u) << "credential store";
  EXPECT_EQ(ModeOf(agent_->audit_file()), 0640u) << "audit file";
  EXPECT_EQ(ModeOf(agent_->socket()), 0666u) << "agent.sock";
  EXPECT_EQ(ModeOf(agent_->admin_socket()), 0660u) << "admin.sock";
  for (const auto& entry : std::filesystem::directory_iterator(agent_->state_dir())) {
    EXPECT_EQ(ModeOf(entry.path()) & 077, 0u) << entry.path();
  }
  const std::string limits = ReadFile("/proc/" + std::to_string(pid) + "/limits");
  EXPECT_NE(limits.find("Max core file size        0                    0"), std::string::npos)
      << limits;

  // A crash writes no core dump, whatever core_pattern says.
  ASSERT_EQ(::kill(pid, SIGSEGV), 0);
  ASSERT_TRUE(agent_->process()->Wait(std::chrono::seconds(10)));
  EXPECT_TRUE(agent_->process()->Signaled());
  EXPECT_FALSE(agent_->process()->CoreDumped()) << "dbproxyd dumped core";
}

}  // namespace
}  // namespace dbproxy::testing
