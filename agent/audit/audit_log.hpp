// AuditFile: the audit trail's file sink. Appends whole batches of lines with O_APPEND, fsyncs
// on request, and notices when the file it writes is no longer the file at its path.
//
// What it notices, before every batch (one fstat):
//   - the file shrank below what we wrote (logrotate copytruncate): kTruncated;
//   - the file was unlinked (directory deleted, or removed by hand): reopened at its path;
// and on Reopen() (SIGHUP/SIGUSR1 after a rename rotation) whether the path now names another
// file. The caller writes a genesis line whenever the file changed under it.
//
// A batch is written completely or not at all: a short or failed write is cut back
// (ftruncate to the last good size), so a failure never leaves half a line.
// Threading: one thread at a time (the audit writer thread).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/core/result.hpp"

namespace dbproxy {

class AuditFile {
 public:
  // Why the next batch must start with a genesis line.
  enum class Change { kNone, kNewFile, kTruncated };

  // Opens (creating with mode 0640, and its directory with 0750) `path` for appending.
  // Refuses anything but a regular file. Errors name the path and errno.
  static Result<AuditFile> Open(const std::string& path);
  AuditFile(AuditFile&& other) noexcept;
  AuditFile& operator=(AuditFile&& other) noexcept;
  AuditFile(const AuditFile&) = delete;
  AuditFile& operator=(const AuditFile&) = delete;
  ~AuditFile();

  // The last complete line of the file (without newline); empty when the file is empty.
  // `damaged` is set when the file does not end with a newline. Reads at most 1 MiB.
  Result<std::string> LastLine(bool& damaged) const;

  // Whether the file changed under us since the last Append (see above); reopens an unlinked
  // file at its path (kNewFile). Errors: the path cannot be reopened.
  Result<Change> Check();
  // Closes and reopens the path: kNewFile when it names another file than before (rotation).
  Result<Change> Reopen();

  // Appends `data` (whole lines) in as few write(2) calls as the kernel allows; on failure cuts
  // the file back to its size before the call.
  Status Append(std::string_view data);
  Status Sync();

  const std::string& path() const { return path_; }

 private:
  AuditFile(std::string path, int fd, dev_t dev, ino_t ino, std::int64_t size)
      : path_(std::move(path)), fd_(fd), dev_(dev), ino_(ino), size_(size) {}
  void Close();

  std::string path_;
  int fd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::int64_t size_ = 0;  // bytes we know are in the file
};

}  // namespace dbproxy
