#include "cli/secret_input.hpp"

#include <fcntl.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <span>
#include <utility>

#include "common/os/unique_fd.hpp"

namespace dbproxy::cli {
namespace {

Error InvalidSecret(std::string message) {
  return MakeError(Errc::kInvalidRequest, std::move(message));
}

// Removes one trailing "\n" or "\r\n" from the first `length` bytes of `data`.
std::size_t StripOneNewline(std::span<const unsigned char> data, std::size_t length) {
  if (length > 0 && data[length - 1] == '\n') {
    --length;
    if (length > 0 && data[length - 1] == '\r') --length;
  }
  return length;
}

// The terminal state to put back if a signal ends the prompt (Ctrl-C must not leave the
// user's shell without echo). Written before the handlers are installed, read only by them.
int g_prompt_fd = -1;
termios g_saved_termios{};
constexpr int kPromptSignals[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGTSTP};

extern "C" void RestoreTerminalAndReraise(int signal_number) {
  ::tcsetattr(g_prompt_fd, TCSAFLUSH, &g_saved_termios);  // async-signal-safe
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

// Switches echo off for the prompt and restores the previous settings (and signal handlers)
// when the prompt ends, whatever the path.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) != 0) return;
    g_prompt_fd = fd_;
    g_saved_termios = saved_;
    struct sigaction restore {};
    restore.sa_handler = &RestoreTerminalAndReraise;
    sigemptyset(&restore.sa_mask);
    for (std::size_t i = 0; i < std::size(kPromptSignals); ++i) {
      ::sigaction(kPromptSignals[i], &restore, &previous_[i]);
    }
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;  // the user still sees the line end after typing the secret
    active_ = ::tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (active_) ::tcsetattr(fd_, TCSAFLUSH, &saved_);
    if (g_prompt_fd < 0) return;
    for (std::size_t i = 0; i < std::size(kPromptSignals); ++i) {
      ::sigaction(kPromptSignals[i], &previous_[i], nullptr);
    }
    g_prompt_fd = -1;
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;
  bool active() const { return active_; }

 private:
  int fd_;
  termios saved_{};
  struct sigaction previous_[std::size(kPromptSignals)] = {};
  bool active_ = false;
};

}  // namespace

Result<SecretBytes> ReadSecretFromFd(int fd, std::size_t max_size, bool stop_at_newline) {
  // Room for the largest secret plus "\r\n", plus one byte that proves the input is too long.
  SecretBytes buffer(max_size + 3);
  const std::span<unsigned char> bytes = buffer.bytes();
  std::size_t length = 0;
  while (length < bytes.size()) {
    const ssize_t got = ::read(fd, bytes.data() + length, bytes.size() - length);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      return MakeError(Errc::kInternal,
                       std::string("cannot read the secret: ") + std::strerror(errno));
    }
    if (got == 0) break;
    length += static_cast<std::size_t>(got);
    if (stop_at_newline && bytes[length - 1] == '\n') break;
  }
  const bool overflowed = length == bytes.size();
  length = StripOneNewline(bytes, length);
  if (overflowed || length > max_size) {
    return InvalidSecret("the secret is larger than " + std::to_string(max_size) + " bytes");
  }
  if (length == 0) return InvalidSecret("the secret is empty");
  return SecretBytes::CopyFrom(std::span<const unsigned char>(bytes.data(), length));
}

Result<SecretBytes> ReadSecretFromFile(const std::string& path, std::size_t max_size) {
  if (path == "-") return ReadSecretFromFd(STDIN_FILENO, max_size);
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    return MakeError(Errc::kInvalidRequest,
                     "cannot open secret file " + path + ": " + std::strerror(errno));
  }
  return ReadSecretFromFd(fd.get(), max_size);
}

Result<SecretBytes> ReadSecretFromTerminal(const std::string& prompt, std::size_t max_size) {
  const UniqueFd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
  if (tty.get() < 0) {
    return InvalidSecret("no terminal to prompt for the secret; use --secret-file FILE or stdin");
  }
  const EchoOff echo_off(tty.get());
  if (!echo_off.active()) return InvalidSecret("cannot switch terminal echo off");
  if (::write(tty.get(), prompt.data(), prompt.size()) < 0) {
    return MakeError(Errc::kInternal, std::string("cannot prompt: ") + std::strerror(errno));
  }
  return ReadSecretFromFd(tty.get(), max_size, /*stop_at_newline=*/true);
}

}  // namespace dbproxy::cli
