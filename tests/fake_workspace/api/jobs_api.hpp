// Jobs endpoints of the fake workspace: 3 fixed jobs (101, 102, 103) and the runs that
// run-now and runs/submit create. Runs finish at once (TERMINATED / SUCCESS), so pollers end.
#pragma once

#include <cstdint>
#include <optional>

#include "tests/fake_workspace/api/api_context.hpp"

namespace dbproxy::fake {

void SeedJobs(WorkspaceState& state);

// A job_id or run_id given as a JSON integer or a decimal string (query parameters are strings).
std::optional<std::int64_t> IdFrom(const nlohmann::json& value);

FakeReply HandleJobsList(const ApiContext& context, WorkspaceState& state);
FakeReply HandleJobsGet(const ApiContext& context, WorkspaceState& state);
FakeReply HandleJobsRunNow(const ApiContext& context, WorkspaceState& state);
FakeReply HandleRunsSubmit(const ApiContext& context, WorkspaceState& state);
FakeReply HandleRunsList(const ApiContext& context, WorkspaceState& state);
FakeReply HandleRunsGet(const ApiContext& context, WorkspaceState& state);

}  // namespace dbproxy::fake
