#include "agent/audit_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "agent/files.hpp"

namespace dbproxy {

Result<AuditLog> AuditLog::Open(const std::string& path) {
  const std::string directory = std::filesystem::path(path).parent_path().string();
  if (!directory.empty()) {
    if (Status made = EnsureDirectory(directory, 0750); !made) return std::move(made).error();
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) {
    return MakeError(Errc::kInternal,
                     "cannot open audit file " + path + ": " + std::strerror(errno));
  }
  // The process umask is 077; the audit trail is meant for the log group too.
  (void)::fchmod(fd, 0640);
  return AuditLog(path, fd);
}

AuditLog::AuditLog(AuditLog&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

AuditLog& AuditLog::operator=(AuditLog&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

Status AuditLog::Write(const AuditRecord& record) {
  std::string line = FormatAuditRecord(record);
  line.push_back('\n');
  // One write(2) per line with O_APPEND: lines never interleave, even with other writers.
  const ssize_t n = ::write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    return MakeError(Errc::kInternal, "audit write failed",
                     path_ + ": " + (n < 0 ? std::strerror(errno) : "short write"));
  }
  return Status::Ok();
}

}  // namespace dbproxy
