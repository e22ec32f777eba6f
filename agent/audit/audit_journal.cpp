#include "agent/audit/audit_journal.hpp"

#include <sys/uio.h>
#include <unistd.h>

#include <cstring>

#include <systemd/sd-journal.h>

#include "common/audit/redact.hpp"

namespace dbproxy {

std::vector<std::string> JournalFields(const AuditRecord& r) {
  const bool refused = r.decision != "allow";
  std::string message = "audit: " + (r.service.empty() ? std::string("-") : r.service) + " " +
                        r.action + " " + r.decision;
  if (!r.rule.empty()) message += " (" + r.rule + ")";
  message += " status " + std::to_string(r.status) + " uid " + std::to_string(r.uid) +
             " request " + r.request_id;
  std::vector<std::string> fields = {"MESSAGE=" + message,
                                     std::string("PRIORITY=") + (refused ? "5" : "6"),
                                     "SYSLOG_IDENTIFIER=dbproxyd",
                                     "DBPROXY_REQUEST_ID=" + r.request_id,
                                     "DBPROXY_SOCKET=" + r.socket,
                                     "DBPROXY_SERVICE=" + r.service,
                                     "DBPROXY_ACTION=" + r.action,
                                     "DBPROXY_DECISION=" + r.decision,
                                     "DBPROXY_RULE=" + r.rule,
                                     "DBPROXY_UID=" + std::to_string(r.uid),
                                     "DBPROXY_PID=" + std::to_string(r.pid),
                                     "DBPROXY_UNIT=" + r.unit,
                                     "DBPROXY_METHOD=" + r.method,
                                     "DBPROXY_PATH=" + RedactSecrets(r.path),
                                     "DBPROXY_WORKSPACE=" + r.workspace,
                                     "DBPROXY_CREDENTIAL=" + r.credential,
                                     "DBPROXY_STATUS=" + std::to_string(r.status),
                                     "DBPROXY_LATENCY_US=" + std::to_string(r.latency_us)};
  if (!r.jwt_iss.empty()) {
    fields.push_back("DBPROXY_JWT_ISS=" + r.jwt_iss);
    fields.push_back("DBPROXY_JWT_SUB=" + r.jwt_sub);
  }
  if (!r.saml_issuer.empty()) {
    fields.push_back("DBPROXY_SAML_ISSUER=" + r.saml_issuer);
    fields.push_back("DBPROXY_SAML_NAME_ID=" + r.saml_name_id);
  }
  return fields;
}

Status SendToJournal(const std::vector<std::string>& fields) {
  std::vector<iovec> iov;
  iov.reserve(fields.size());
  for (const std::string& field : fields) {
    // sd_journal_sendv only reads the buffers; a value with a newline is framed by length.
    iov.push_back(iovec{.iov_base = const_cast<char*>(field.data()), .iov_len = field.size()});
  }
  const int r = sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
  if (r < 0) {
    return MakeError(Errc::kAuditUnavailable, "the audit trail cannot be written",
                     std::string("journald: ") + std::strerror(-r));
  }
  return Status::Ok();
}

bool JournalAvailable() { return ::access("/run/systemd/journal/socket", W_OK) == 0; }

}  // namespace dbproxy
