// Clusters and Jobs endpoints of the fake workspace (3 fixed clusters and jobs, plus whatever
// tests create).
#pragma once

#include "tests/fake_workspace/api_context.hpp"

namespace dbproxy::fake {

// Puts the fixed clusters and jobs into `state`.
void SeedComputeResources(WorkspaceState& state);

FakeReply HandleClustersList(const ApiContext& context, WorkspaceState& state);
FakeReply HandleClustersGet(const ApiContext& context, WorkspaceState& state);
FakeReply HandleClustersCreate(const ApiContext& context, WorkspaceState& state);
FakeReply HandleClustersDelete(const ApiContext& context, WorkspaceState& state);

FakeReply HandleJobsList(const ApiContext& context, WorkspaceState& state);
FakeReply HandleJobsGet(const ApiContext& context, WorkspaceState& state);
FakeReply HandleJobsRunNow(const ApiContext& context, WorkspaceState& state);

}  // namespace dbproxy::fake
