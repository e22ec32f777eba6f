// SQL Statement Execution API of the fake workspace. Every statement "succeeds" with a fixed
// two-column result, except that a statement containing the text FAIL fails the way Databricks
// reports failures: HTTP 200 with status.state = "FAILED".
#pragma once

#include "tests/fake_workspace/api_context.hpp"

namespace dbproxy::fake {

// POST /api/2.0/sql/statements
FakeReply HandleStatementSubmit(const ApiContext& context, WorkspaceState& state);

// GET /api/2.0/sql/statements/{statement_id}
FakeReply HandleStatementGet(const ApiContext& context, WorkspaceState& state);

}  // namespace dbproxy::fake
