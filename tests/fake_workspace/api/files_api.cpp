#include "tests/fake_workspace/api/files_api.hpp"

#include <string>

namespace dbproxy::fake {

FakeReply HandleFilesUpload(const ApiContext& context, WorkspaceState& state) {
  const std::string path(context.path_suffix);
  if (context.request.body.size() > kMaxFakeFileBytes) {
    return ApiError(413, "RESOURCE_EXHAUSTED", "File is too large for the fake workspace");
  }
  const auto overwrite = context.request.query.find("overwrite");
  const bool keep = overwrite != context.request.query.end() && overwrite->second == "false";
  if (keep && state.files.Find(path) != nullptr) {
    return ApiError(409, "ALREADY_EXISTS", "The file being created already exists.");
  }
  state.files.Put(path, context.request.body);
  FakeReply reply;
  reply.status = 204;
  return reply;
}

FakeReply HandleFilesDownload(const ApiContext& context, WorkspaceState& state) {
  const nlohmann::json* content = state.files.Find(std::string(context.path_suffix));
  if (content == nullptr) return ApiError(404, "NOT_FOUND", "The file does not exist.");
  FakeReply reply;
  reply.content_type = "application/octet-stream";
  reply.body = content->get<std::string>();
  return reply;
}

FakeReply HandleReposList(const ApiContext& /*context*/, WorkspaceState& /*state*/) {
  return JsonReply(200, {{"repos",
                          {{{"id", 5249608814509279},
                            {"path", "/Workspace/Repos/etl/pipelines"},
                            {"url", "https://github.com/example/pipelines.git"},
                            {"provider", "gitHub"},
                            {"branch", "main"},
                            {"head_commit_id", "7e0847ede61f07adede22e2bcce6050216489171"}}}}});
}

}  // namespace dbproxy::fake
