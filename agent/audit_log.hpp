// AuditLog: appends one JSON line per request to the audit file.
//
// This is the first cut (foundation issue): O_APPEND writes, no fsync, no hash chain. The audit
// issue adds the chain, journald, batching and fail-closed behaviour.
// Threading: event-loop thread only.
#pragma once

#include <string>

#include "common/audit_record.hpp"
#include "common/result.hpp"

namespace dbproxy {

class AuditLog {
 public:
  // Opens (creating with mode 0640) `path` for appending; creates its directory (0750).
  static Result<AuditLog> Open(const std::string& path);
  AuditLog(AuditLog&& other) noexcept;
  AuditLog& operator=(AuditLog&& other) noexcept;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  ~AuditLog();

  Status Write(const AuditRecord& record);

 private:
  AuditLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

}  // namespace dbproxy
