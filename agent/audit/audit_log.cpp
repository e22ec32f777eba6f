#include "agent/audit/audit_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "common/os/files.hpp"

namespace dbproxy {
namespace {

constexpr std::int64_t kMaxLastLineBytes = 1 << 20;

Error FileError(const std::string& what, const std::string& path, int err) {
  // The client sees only "audit_unavailable"; the operator's log gets the path and errno.
  return MakeError(Errc::kAuditUnavailable, "the audit trail cannot be written",
                   what + " " + path + ": " + std::strerror(err));
}

}  // namespace

Result<AuditFile> AuditFile::Open(const std::string& path) {
  const std::string directory = std::filesystem::path(path).parent_path().string();
  if (!directory.empty()) {
    if (Status made = EnsureDirectory(directory, 0750); !made) return std::move(made).error();
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) return FileError("cannot open audit file", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return FileError("audit file is not a regular file:", path, EINVAL);
  }
  // The process umask is 077; the audit trail is meant for the log group too.
  (void)::fchmod(fd, 0640);
  return AuditFile(path, fd, st.st_dev, st.st_ino, st.st_size);
}

AuditFile::AuditFile(AuditFile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      dev_(other.dev_),
      ino_(other.ino_),
      size_(other.size_) {}

AuditFile& AuditFile::operator=(AuditFile&& other) noexcept {
  if (this != &other) {
    Close();
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    dev_ = other.dev_;
    ino_ = other.ino_;
    size_ = other.size_;
  }
  return *this;
}

AuditFile::~AuditFile() { Close(); }

void AuditFile::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<std::string> AuditFile::LastLine(bool& damaged) const {
  damaged = false;
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return FileError("cannot read audit file", path_, errno);
  struct stat st {};
  (void)::fstat(fd, &st);
  const std::int64_t length = std::min<std::int64_t>(st.st_size, kMaxLastLineBytes);
  std::string tail(static_cast<std::size_t>(length), '\0');
  const ssize_t n = ::pread(fd, tail.data(), tail.size(), st.st_size - length);
  ::close(fd);
  if (n != static_cast<ssize_t>(tail.size())) return FileError("cannot read audit file", path_, EIO);
  if (tail.empty()) return std::string();
  if (tail.back() != '\n') {
    damaged = true;
    return std::string();
  }
  tail.pop_back();
  const std::size_t start = tail.rfind('\n');
  return start == std::string::npos ? tail : tail.substr(start + 1);
}

Result<AuditFile::Change> AuditFile::Check() {
  struct stat st {};
  if (fd_ < 0 || ::fstat(fd_, &st) != 0 || st.st_nlink == 0) {
    // Unlinked (or its directory removed): writes would vanish with the inode. Start over at
    // the path, recreating the directory.
    Result<AuditFile> reopened = Open(path_);
    if (!reopened) return std::move(reopened).error();
    *this = std::move(*reopened);
    return Change::kNewFile;
  }
  if (st.st_size < size_) {
    size_ = st.st_size;
    return Change::kTruncated;
  }
  size_ = st.st_size;  // someone else appended: keep their lines, ours follow
  return Change::kNone;
}

Result<AuditFile::Change> AuditFile::Reopen() {
  const dev_t old_dev = dev_;
  const ino_t old_ino = ino_;
  Result<AuditFile> reopened = Open(path_);
  if (!reopened) return std::move(reopened).error();
  *this = std::move(*reopened);
  return dev_ == old_dev && ino_ == old_ino ? Change::kNone : Change::kNewFile;
}

Status AuditFile::Append(std::string_view data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      // Never leave half a batch: the retry writes it again, whole.
      const bool cut_back = done == 0 || ::ftruncate(fd_, size_) == 0;
      return FileError(cut_back ? "cannot write audit file"
                                : "cannot write audit file (and a partial batch remains in it)",
                       path_, err);
    }
    done += static_cast<std::size_t>(n);
  }
  size_ += static_cast<std::int64_t>(data.size());
  return Status::Ok();
}

Status AuditFile::Sync() {
  if (::fdatasync(fd_) != 0) return FileError("cannot fsync audit file", path_, errno);
  return Status::Ok();
}

}  // namespace dbproxy
