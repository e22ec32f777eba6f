#include "agent/audit/audit_commit.hpp"

#include <utility>

#include "agent/audit/audit_journal.hpp"
#include "agent/server/responses.hpp"

namespace dbproxy {

Status AdmitAudited(const AgentState& state) {
  if (!state.audit || state.audit->Admits()) return Status::Ok();
  Error error = MakeError(Errc::kAuditUnavailable,
                          "the audit trail cannot be written; requests are refused until it "
                          "recovers");
  error.retry_after_seconds = 1;
  return error;
}

asio::awaitable<void> CommitAudit(AgentState& state, const AuditRecord& record) {
  state.metrics.ObserveRequest(record);
  if (!state.audit) co_return;
  // The attributes that decided travel in the record itself (RecordServiceAttributes copies the
  // service's from the policy the request pinned): nothing here reads the current policy.
  const AuditFormatOptions options{.log_statements = state.config.audit.log_statements};
  std::string line = FormatAuditRecord(record, options);
  std::vector<std::string> journal;
  if (state.config.audit.journald) journal = JournalFields(record);
  co_await state.audit->Commit(std::move(line), std::move(journal));
}

asio::awaitable<HttpResponse> AnswerRefused(AgentState& state, const char* socket,
                                            const Error& error, const RefusedRequest& request,
                                            RequestContext& context) {
  AuditRecord record = BeginAuditFor(socket, request.method, request.target, context);
  record.action = "refused";
  if (error.code == Errc::kUnidentified) record.decision = "deny";
  const Status admitted = AdmitAudited(state);
  const Error& answered = admitted ? error : admitted.error();
  HttpResponse response = ErrorResponse(answered, context.request_id);
  FinishAudit(record, response, context, &answered);
  co_await CommitAudit(state, record);
  co_return response;
}

}  // namespace dbproxy
