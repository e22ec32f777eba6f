// Files API (/api/2.0/fs/files/...) and Repos list endpoints of the fake workspace: small files
// kept in memory by path, and one fixed Git folder.
#pragma once

#include "tests/fake_workspace/api/api_context.hpp"

namespace dbproxy::fake {

// PUT /api/2.0/fs/files/<path>: stores the body (at most kMaxFakeFileBytes) under the path as
// sent (percent-escapes kept); 204. "overwrite=false" on an existing file: 409 ALREADY_EXISTS.
FakeReply HandleFilesUpload(const ApiContext& context, WorkspaceState& state);

// GET /api/2.0/fs/files/<path>: the stored bytes as application/octet-stream, or 404 NOT_FOUND.
FakeReply HandleFilesDownload(const ApiContext& context, WorkspaceState& state);

// GET /api/2.0/repos: one Git folder.
FakeReply HandleReposList(const ApiContext& context, WorkspaceState& state);

inline constexpr std::size_t kMaxFakeFileBytes = 1 << 20;

}  // namespace dbproxy::fake
