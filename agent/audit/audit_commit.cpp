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
  AuditFormatOptions options{.log_statements = state.config.audit.log_statements,
                             .service_attributes = nullptr};
  // "Attributes that decided": on the client socket, the matched service's attributes (every
  // rule condition on service.* reads them); proxied calls may add request facts themselves.
  if (record.attributes.empty() && record.socket == "agent" && !record.service.empty() &&
      state.policy) {
    if (const Service* service = state.policy->FindService(record.service)) {
      options.service_attributes = &service->attributes;
    }
  }
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
