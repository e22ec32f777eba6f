// The audit trail's journald sink: each record as one journal entry with structured fields
// (sd_journal_sendv), so `journalctl SYSLOG_IDENTIFIER=dbproxyd DBPROXY_DECISION=deny` works
// without parsing JSON.
//
// Fields: MESSAGE (a one-line summary), PRIORITY (6, or 5 for a deny/error), SYSLOG_IDENTIFIER
// = dbproxyd, DBPROXY_REQUEST_ID, DBPROXY_SOCKET, DBPROXY_SERVICE, DBPROXY_ACTION,
// DBPROXY_DECISION, DBPROXY_RULE, DBPROXY_UID, DBPROXY_PID, DBPROXY_UNIT, DBPROXY_METHOD,
// DBPROXY_PATH, DBPROXY_WORKSPACE, DBPROXY_CREDENTIAL, DBPROXY_STATUS, DBPROXY_LATENCY_US, and
// from the writer DBPROXY_SEQ and DBPROXY_RECORD (the exact chained line of the file).
// Never a token or secret: the values come from the audit record, which holds none.
//
// libsystemd returns success when no journal is listening (ENOENT): journald cannot tell us it
// is missing, so it is a best-effort copy unless it is the only sink (see AuditTrail).
// Threading: any thread (the audit writer).
#pragma once

#include <string>
#include <vector>

#include "common/audit/audit_record.hpp"
#include "common/core/result.hpp"

namespace dbproxy {

// "KEY=value" fields for `record`, without DBPROXY_SEQ/DBPROXY_RECORD.
std::vector<std::string> JournalFields(const AuditRecord& record);

// Sends one entry. kAuditUnavailable with the errno text when libsystemd reports a failure.
Status SendToJournal(const std::vector<std::string>& fields);

// Whether a journal socket exists at all (/run/systemd/journal/socket).
bool JournalAvailable();

}  // namespace dbproxy
