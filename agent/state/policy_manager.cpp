#include "agent/state/policy_manager.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>

#include "agent/clock.hpp"
#include "agent/log.hpp"
#include "agent/notify.hpp"
#include "agent/state/policy_loader.hpp"
#include "common/policy/policy_bundle.hpp"

namespace dbproxy {
namespace {

// Editors and config management write several files in a burst: reload once it settles.
constexpr std::chrono::milliseconds kDebounce{250};

bool Relevant(std::string_view name) {
  return IsPolicyFileName(name) || name == kPolicySignatureFile;
}

// Whether a read from the inotify fd names a policy file. A plain function on purpose: an
// inotify_event (flexible array member) cannot be a coroutine-frame local, and the buffer in
// the frame is not aligned for one, so each header is copied out.
bool AnyRelevantEvent(const char* data, std::size_t size) {
  for (std::size_t offset = 0; offset + sizeof(inotify_event) <= size;) {
    inotify_event event{};
    std::memcpy(&event, data + offset, sizeof event);
    const std::size_t name_offset = offset + sizeof(inotify_event);
    if (event.len > 0 && name_offset + event.len <= size) {
      const char* name = data + name_offset;
      if (Relevant(std::string_view(name, ::strnlen(name, event.len)))) return true;
    }
    offset = name_offset + event.len;
  }
  return false;
}

}  // namespace

PolicyManager::PolicyManager(asio::io_context& io, AgentState& state)
    : io_(io), state_(state), debounce_(io) {}

PolicyManager::~PolicyManager() { Stop(); }

Status PolicyManager::LoadInitial() { return Load(true); }

Status PolicyManager::Load(bool initial) {
  const AgentConfig& config = state_.config;
  Result<std::shared_ptr<const Policy>> policy =
      LoadPolicyDirectory(config.agent.policy_dir, config.policy.trusted_keys);
  if (!policy) return std::move(policy).error();
  std::shared_ptr<const Policy> shadow;
  if (!config.policy.shadow_dir.empty()) {
    Result<std::shared_ptr<const Policy>> loaded = LoadPolicyDirectory(config.policy.shadow_dir);
    if (!loaded) {
      Error error = std::move(loaded).error();
      error.message = "shadow policy: " + error.message;
      return error;
    }
    shadow = std::move(*loaded);
  }
  // A service requiring a provider agent.toml lacks refuses every request: say so at each load.
  for (const LintFinding& finding : LintAgainstConfig(**policy, config)) {
    Log(LogLevel::kWarning, "policy: " + finding.source + ": " + finding.code + ": " +
                                finding.message);
  }
  // Both parsed and valid: swap together.
  state_.SetPolicies(PinnedPolicy{.enforced = std::move(*policy), .shadow = std::move(shadow)});
  state_.policy_loaded_at = NowUnix();
  state_.policy_error.clear();
  if (!initial) ++state_.policy_reloads;
  return Status::Ok();
}

Status PolicyManager::Reload(std::string_view trigger) {
  NotifyReloading();
  Status loaded = Load(false);
  const std::shared_ptr<const Policy> policy = state_.EnforcedPolicy();
  if (loaded) {
    Log(LogLevel::kInfo, "policy reloaded (" + std::string(trigger) + "): revision " +
                             policy->revision + ", " + std::to_string(policy->services.size()) +
                             " services, " + std::to_string(policy->roles.size()) + " roles, " +
                             std::to_string(policy->rules.size()) + " rules");
  } else {
    state_.policy_error = loaded.error().message;
    ++state_.policy_reload_failures;
    Log(LogLevel::kError, "policy reload (" + std::string(trigger) +
                              ") failed; keeping revision " + policy->revision + ":\n" +
                              loaded.error().message);
  }
  NotifyReady(loaded ? "policy revision " + policy->revision
                     : "policy reload failed; serving revision " + policy->revision);
  return loaded;
}

void PolicyManager::StartWatching() {
  if (!state_.config.policy.watch) return;
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    Log(LogLevel::kWarning, std::string("inotify unavailable: ") + std::strerror(errno));
    return;
  }
  const std::string& dir = state_.config.agent.policy_dir;
  if (::inotify_add_watch(inotify_fd_, dir.c_str(),
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE) <
      0) {
    Log(LogLevel::kWarning, "not watching " + dir + ": " + std::strerror(errno) +
                                " (reload with SIGHUP or dbproxyctl reload)");
    ::close(inotify_fd_);
    inotify_fd_ = -1;
    return;
  }
  watcher_ = std::make_unique<asio::posix::stream_descriptor>(io_, inotify_fd_);
  asio::co_spawn(io_, WatchLoop(), asio::detached);
}

void PolicyManager::Stop() {
  boost::system::error_code ignored;
  debounce_.cancel();
  if (watcher_) {
    watcher_->close(ignored);  // closes inotify_fd_
    watcher_.reset();
    inotify_fd_ = -1;
  }
}

asio::awaitable<void> PolicyManager::WatchLoop() {
  std::array<char, 8192> buffer{};
  for (;;) {
    boost::system::error_code ec;
    const std::size_t n = co_await watcher_->async_read_some(
        asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // closed at shutdown
    const bool relevant = AnyRelevantEvent(buffer.data(), n);
    if (relevant && !reload_pending_) {
      reload_pending_ = true;
      asio::co_spawn(io_, DebouncedReload(), asio::detached);
    } else if (relevant) {
      debounce_.expires_after(kDebounce);  // wakes the waiter, which waits again
    }
  }
}

asio::awaitable<void> PolicyManager::DebouncedReload() {
  for (;;) {
    debounce_.expires_after(kDebounce);
    boost::system::error_code ec;
    co_await debounce_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) break;                                  // quiet for kDebounce: reload
    if (!watcher_) co_return;                        // stopped
  }
  reload_pending_ = false;
  (void)Reload("policy_dir changed");
}

}  // namespace dbproxy
