#include "tests/fake_workspace/api/rest_api.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <string>

#include "tests/fake_workspace/api/api_context.hpp"
#include "tests/fake_workspace/api/compute_api.hpp"
#include "tests/fake_workspace/api/files_api.hpp"
#include "tests/fake_workspace/api/jobs_api.hpp"
#include "tests/fake_workspace/api/sql_api.hpp"

namespace dbproxy::fake {
namespace {

constexpr std::uint64_t kMaxBlobBytes = 1ULL << 34;  // 16 GiB

struct Route {
  std::string_view method;
  std::string_view path;  // after "/api/<version>/"
  bool prefix = false;    // path is a prefix; the rest (one segment) becomes path_suffix
  std::array<std::string_view, 3> versions;
  ApiFamily family = ApiFamily::kAnyScope;
  ApiHandler handler = nullptr;
  bool tree = false;  // with prefix: the rest may have several segments (a file path)
};

FakeReply HandleScimMe(const ApiContext& context, WorkspaceState& /*state*/) {
  const std::string& client_id = context.token.client_id;
  return JsonReply(200,
                   {{"schemas", {"urn:ietf:params:scim:schemas:core:2.0:User"}},
                    {"id", std::to_string(std::hash<std::string>{}(client_id) % 10000000000000ULL)},
                    {"userName", client_id},
                    {"displayName", "Service principal " + client_id},
                    {"active", true}});
}

FakeReply HandleBlob(const ApiContext& context, WorkspaceState& /*state*/) {
  const auto bytes = context.request.query.find("bytes");
  std::uint64_t size = 0;
  if (bytes == context.request.query.end() || !ParseDecimal(bytes->second, &size)) {
    return InvalidParameter("bytes must be a non-negative integer");
  }
  if (size > kMaxBlobBytes) return InvalidParameter("bytes is too large");
  FakeReply reply;
  reply.content_type = "application/octet-stream";
  reply.stream_bytes = size;
  return reply;
}

// Versions as Databricks serves them: clusters on 2.0/2.1, jobs on 2.0/2.1/2.2.
// SCIM /Me is listed under every API scope in Databricks' scope docs, so any token may call it.
constexpr std::array<Route, 21> kRoutes = {{
    {"GET", "preview/scim/v2/Me", false, {"2.0"}, ApiFamily::kAnyScope, HandleScimMe},
    {"GET", "fake/blob", false, {"2.0"}, ApiFamily::kAnyScope, HandleBlob},
    {"GET", "clusters/list", false, {"2.0", "2.1"}, ApiFamily::kClusters, HandleClustersList},
    {"GET", "clusters/get", false, {"2.0", "2.1"}, ApiFamily::kClusters, HandleClustersGet},
    {"POST", "clusters/create", false, {"2.0", "2.1"}, ApiFamily::kClusters, HandleClustersCreate},
    {"POST", "clusters/edit", false, {"2.0", "2.1"}, ApiFamily::kClusters, HandleClustersEdit},
    {"POST", "clusters/start", false, {"2.0", "2.1"}, ApiFamily::kClusters, HandleClustersStart},
    {"POST", "clusters/delete", false, {"2.0", "2.1"}, ApiFamily::kClusters, HandleClustersDelete},
    {"GET", "jobs/list", false, {"2.0", "2.1", "2.2"}, ApiFamily::kJobs, HandleJobsList},
    {"GET", "jobs/get", false, {"2.0", "2.1", "2.2"}, ApiFamily::kJobs, HandleJobsGet},
    {"POST", "jobs/run-now", false, {"2.0", "2.1", "2.2"}, ApiFamily::kJobs, HandleJobsRunNow},
    {"POST", "jobs/runs/submit", false, {"2.0", "2.1", "2.2"}, ApiFamily::kJobs, HandleRunsSubmit},
    {"GET", "jobs/runs/list", false, {"2.0", "2.1", "2.2"}, ApiFamily::kJobs, HandleRunsList},
    {"GET", "jobs/runs/get", false, {"2.0", "2.1", "2.2"}, ApiFamily::kJobs, HandleRunsGet},
    {"GET", "sql/warehouses", false, {"2.0"}, ApiFamily::kSql, HandleWarehousesList},
    {"GET", "sql/warehouses/", true, {"2.0"}, ApiFamily::kSql, HandleWarehouseGet},
    {"POST", "sql/statements", false, {"2.0"}, ApiFamily::kSql, HandleStatementSubmit},
    {"GET", "sql/statements/", true, {"2.0"}, ApiFamily::kSql, HandleStatementGet},
    {"PUT", "fs/files/", true, {"2.0"}, ApiFamily::kFiles, HandleFilesUpload, true},
    {"GET", "fs/files/", true, {"2.0"}, ApiFamily::kFiles, HandleFilesDownload, true},
    {"GET", "repos", false, {"2.0"}, ApiFamily::kWorkspace, HandleReposList},
}};

const Route* FindRoute(std::string_view method, std::string_view version, std::string_view path,
                       std::string_view* suffix) {
  for (const Route& route : kRoutes) {
    if (route.method != method) continue;
    if (std::find(route.versions.begin(), route.versions.end(), version) == route.versions.end()) {
      continue;
    }
    if (route.prefix ? (path.size() > route.path.size() && path.starts_with(route.path) &&
                        (route.tree || path.find('/', route.path.size()) == std::string_view::npos))
                     : path == route.path) {
      *suffix = route.prefix ? path.substr(route.path.size()) : std::string_view();
      return &route;
    }
  }
  return nullptr;
}

// Returns the caller's token record, or the error reply for a missing, unknown or expired token.
std::variant<const TokenRecord*, FakeReply> Authenticate(const FakeRequest& request,
                                                         const WorkspaceState& state) {
  constexpr std::string_view kBearer = "Bearer ";
  const auto header = request.Header("Authorization");
  if (!header || header->size() <= kBearer.size() ||
      !EqualsIgnoreCase(header->substr(0, kBearer.size()), kBearer)) {
    return ApiError(401, 401,
                    "Credential was not sent or was of an unsupported type for this API.");
  }
  const auto token = state.tokens.find(std::string(header->substr(kBearer.size())));
  if (token == state.tokens.end()) return ApiError(403, 403, "Invalid access token.");
  if (token->second.expiry <= Clock::now()) return ApiError(403, 403, "JWT has expired");
  return &token->second;
}

}  // namespace

FakeReply HandleApiRequest(const FakeRequest& request, WorkspaceState& state) {
  auto authenticated = Authenticate(request, state);
  if (auto* error = std::get_if<FakeReply>(&authenticated)) return std::move(*error);
  const TokenRecord& token = *std::get<const TokenRecord*>(authenticated);

  // "/api/<version>/<path>"; Databricks' 404 message quotes the path without "/api/<version>".
  std::string_view rest = std::string_view(request.path).substr(std::string_view("/api/").size());
  const std::size_t slash = rest.find('/');
  const std::string_view version = rest.substr(0, slash);
  const std::string_view path =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  std::string_view suffix;
  const Route* route = FindRoute(request.method, version, path, &suffix);
  if (route == nullptr) {
    return ApiError(404, "ENDPOINT_NOT_FOUND",
                    "No API found for '" + request.method + " /" + std::string(path) + "'");
  }
  const Access access = AccessFor(token.scopes, route->family, request.method);
  if (access == Access::kDenied) {
    return ApiError(403, "PERMISSION_DENIED",
                    "Provided OAuth token does not have required scopes: " +
                        std::string(ScopeNameOf(route->family)));
  }
  return route->handler(ApiContext{request, token, access, suffix}, state);
}

}  // namespace dbproxy::fake
