// UniqueFd: owns one file descriptor and closes it when it goes out of scope. Move-only.
// Shared by dbproxyd and dbproxyctl (common/os/ is the one place in common/ that does I/O).
#pragma once

#include <unistd.h>

#include <utility>

namespace dbproxy {

class UniqueFd {
 public:
  UniqueFd() = default;
  // Takes ownership of `fd` (a negative value owns nothing: the failed result of open(2)).
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership without closing.
  int Release() { return std::exchange(fd_, -1); }
  // Closes now and reports whether close(2) succeeded (it can report a delayed write error).
  bool Close() { return ::close(Release()) == 0; }

 private:
  int fd_ = -1;
};

}  // namespace dbproxy
