// SQL warehouses and the SQL Statement Execution API of the fake workspace.
//
// Warehouses: three fixed ones, "wh-1", "wh-2" and "wh-3"; a statement naming any other id is
// refused with 400 INVALID_PARAMETER_VALUE "<id> is not a valid endpoint id." (the answer seen
// from Databricks for a bad id; whether an unknown well-formed id gets 404 instead is not
// confirmed).
// Statements: every statement "succeeds" with a fixed two-column, ten-row result cut by
// row_limit and byte_limit (then manifest.truncated is true), except that a statement containing
// the text FAIL fails the way Databricks reports failures: HTTP 200 with status.state = "FAILED".
// disposition EXTERNAL_LINKS answers with a pre-signed link to /fake-storage/..., which, like a
// cloud store, refuses requests that carry an Authorization header.
#pragma once

#include "tests/fake_workspace/api/api_context.hpp"

namespace dbproxy::fake {

void SeedWarehouses(WorkspaceState& state);

// GET /api/2.0/sql/warehouses and /api/2.0/sql/warehouses/{id}
FakeReply HandleWarehousesList(const ApiContext& context, WorkspaceState& state);
FakeReply HandleWarehouseGet(const ApiContext& context, WorkspaceState& state);

// POST /api/2.0/sql/statements
FakeReply HandleStatementSubmit(const ApiContext& context, WorkspaceState& state);

// GET /api/2.0/sql/statements/{statement_id}
FakeReply HandleStatementGet(const ApiContext& context, WorkspaceState& state);

// GET /fake-storage/<statement_id>/<chunk>: an external link's content (no token needed).
FakeReply HandleExternalResult(const FakeRequest& request, WorkspaceState& state);

}  // namespace dbproxy::fake
