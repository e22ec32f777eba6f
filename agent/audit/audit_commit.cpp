#include "agent/audit/audit_commit.hpp"

#include <optional>
#include <utility>

#include "agent/server/responses.hpp"

namespace dbproxy {

Error AuditUnavailable() {
  Error error = MakeError(Errc::kAuditUnavailable,
                          "the audit trail cannot be written; requests are refused until it "
                          "recovers");
  error.retry_after_seconds = 1;
  return error;
}

Status AdmitAudited(const AgentState& state) {
  if (!state.audit || state.audit->Admits()) return Status::Ok();
  return AuditUnavailable();
}

asio::awaitable<Status> AwaitAuditWritable(AgentState& state) {
  if (!state.audit) co_return Status::Ok();
  // (g++ 12: no co_await inside a condition; the result goes into a named variable first.)
  const bool written = co_await state.audit->Barrier();
  if (written) co_return Status::Ok();
  co_return AuditUnavailable();
}

asio::awaitable<bool> CommitAudit(AgentState& state, const AuditRecord& record,
                                  AuditTrail::Wait wait) {
  if (!state.audit) {
    state.metrics.ObserveRequest(record);
    co_return true;
  }
  // The attributes that decided travel in the record itself (RecordServiceAttributes copies the
  // service's from the policy the request pinned): nothing here reads the current policy.
  const AuditFormatOptions options{.log_statements = state.config.audit.log_statements};
  std::string line = FormatAuditRecord(record, options);
  // The journald entry's fields are built by the writer thread, from a copy.
  std::optional<AuditRecord> journal;
  if (state.audit->WantsJournalCopy()) journal = record;
  const bool committed = co_await state.audit->Commit(std::move(line), std::move(journal), wait);
  // A release that was withdrawn is counted by the record of the 503 that replaces it.
  if (committed || wait != AuditTrail::Wait::kRelease) state.metrics.ObserveRequest(record);
  co_return committed || wait != AuditTrail::Wait::kRelease;
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
