// AuditRecord: one line of the audit trail, and its JSON encoding.
//
// Never holds a token, secret or Authorization header: the fields are identity, intent and
// outcome only.
#pragma once

#include <cstdint>
#include <string>

namespace dbproxy {

struct AuditRecord {
  std::int64_t time_us = 0;  // unix microseconds
  std::string request_id;
  std::string socket;  // "agent" or "admin"
  std::int64_t pid = 0;
  std::int64_t uid = -1;
  std::int64_t gid = -1;
  std::string user;
  std::string exe;
  std::string unit;
  std::string service;
  std::string action;  // "token:all-apis", "admin.enroll", "whoami", ...
  std::string method;
  std::string path;  // without the query string
  std::string workspace;
  std::string credential;
  std::string decision;  // "allow", "deny" or "error"
  std::string rule;
  std::string shadow_decision;  // "allow"/"deny" under the shadow policy; empty when none
  std::string shadow_rule;
  std::string error_code;  // wire code when the request failed
  int status = 0;
  std::int64_t latency_us = 0;
};

// A single JSON object, no trailing newline. Time is RFC 3339 UTC with microseconds.
std::string FormatAuditRecord(const AuditRecord& record);

// "2026-11-29T01:53:17.123456Z".
std::string FormatRfc3339Micros(std::int64_t time_us);

}  // namespace dbproxy
