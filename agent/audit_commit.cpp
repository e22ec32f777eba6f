#include "agent/audit_commit.hpp"

namespace dbproxy {

Status AdmitAudited(const AgentState&) { return Status::Ok(); }

asio::awaitable<void> CommitAudit(AgentState& state, const AuditRecord& record) {
  if (state.audit) (void)state.audit->Write(record);
  co_return;
}

}  // namespace dbproxy
