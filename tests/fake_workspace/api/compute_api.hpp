// Clusters endpoints of the fake workspace (3 fixed clusters, plus whatever tests create).
#pragma once

#include "tests/fake_workspace/api/api_context.hpp"

namespace dbproxy::fake {

// Puts the fixed clusters into `state`: two RUNNING, one TERMINATED (so clusters/start works).
void SeedComputeResources(WorkspaceState& state);

FakeReply HandleClustersList(const ApiContext& context, WorkspaceState& state);
FakeReply HandleClustersGet(const ApiContext& context, WorkspaceState& state);
FakeReply HandleClustersCreate(const ApiContext& context, WorkspaceState& state);
FakeReply HandleClustersEdit(const ApiContext& context, WorkspaceState& state);
FakeReply HandleClustersStart(const ApiContext& context, WorkspaceState& state);
FakeReply HandleClustersDelete(const ApiContext& context, WorkspaceState& state);

}  // namespace dbproxy::fake
