#include "common/calls/proxy_route.hpp"

#include <utility>

#include "common/store/credential_store_format.hpp"

namespace dbproxy {
namespace {

constexpr std::string_view kWorkspacePrefix = "/w/";

// Whether `path` (no workspace prefix, no query) is a Databricks path the proxy serves.
bool IsApiPath(std::string_view path) {
  return path == "/api" || path.starts_with("/api/") || path.starts_with("/serving-endpoints/");
}

std::string_view PathOf(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

struct Split {
  std::string_view workspace;  // the /w/<ws>/ segment, empty without one
  std::string_view api_path;
  bool prefixed = false;
};

// REQUIRES: `path` starts with '/'.
Split SplitWorkspace(std::string_view path) {
  if (!path.starts_with(kWorkspacePrefix)) return Split{.workspace = {}, .api_path = path};
  const std::size_t slash = path.find('/', kWorkspacePrefix.size());
  if (slash == std::string_view::npos) return Split{.workspace = {}, .api_path = {}};
  return Split{.workspace = path.substr(kWorkspacePrefix.size(), slash - kWorkspacePrefix.size()),
               .api_path = path.substr(slash),
               .prefixed = true};
}


// The workspace named by the target, the header or the service default, in that order.
Result<std::string> ChooseWorkspace(const Split& split, std::string_view header,
                                    std::string_view default_workspace) {
  if (split.prefixed) {
    if (!IsValidName(split.workspace)) return InvalidRequest("invalid workspace name in /w/<workspace>/");
    if (!header.empty() && header != split.workspace) {
      return InvalidRequest("X-Dbproxy-Workspace names another workspace than /w/" +
                     std::string(split.workspace) + "/");
    }
    return std::string(split.workspace);
  }
  if (!header.empty()) {
    if (!IsValidName(header)) return InvalidRequest("invalid workspace name in X-Dbproxy-Workspace");
    return std::string(header);
  }
  if (default_workspace.empty()) {
    return InvalidRequest(
        "no workspace given (use /w/<workspace>/api/... or X-Dbproxy-Workspace) and the service "
        "has no default");
  }
  return std::string(default_workspace);
}

}  // namespace

std::string ProxyRoute::UpstreamTarget() const {
  if (query.empty()) return classification.normalized_path;
  return classification.normalized_path + "?" + query;
}

bool IsProxyTarget(std::string_view target) {
  const std::string_view path = PathOf(target);
  const Split split = SplitWorkspace(path);
  return !split.api_path.empty() && IsApiPath(split.api_path);
}

Result<ProxyRoute> ParseProxyRoute(std::string_view method, std::string_view target,
                                   std::string_view workspace_header,
                                   std::string_view default_workspace) {
  if (target.empty() || target.front() != '/') {
    return InvalidRequest("request target must be a path (origin form)");
  }
  if (target.find('#') != std::string_view::npos) return InvalidRequest("request target has a fragment");
  if (!IsProxyTarget(target)) {
    return MakeError(Errc::kNotFound, "not a Databricks API path (/api/... or /w/<ws>/api/...)");
  }
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const Split split = SplitWorkspace(path);

  Result<std::string> workspace = ChooseWorkspace(split, workspace_header, default_workspace);
  if (!workspace) return std::move(workspace).error();
  Result<Classification> classification = ClassifyCall(method, split.api_path);
  if (!classification) return std::move(classification).error();

  ProxyRoute route;
  route.workspace = std::move(*workspace);
  route.classification = std::move(*classification);
  if (question != std::string_view::npos) route.query = std::string(target.substr(question + 1));
  return route;
}

}  // namespace dbproxy
