// Proxy mode: from the request target a caller sent to agent.sock to the workspace, upstream
// path and policy action of the Databricks call it stands for.
//
// Two spellings reach the same call:
//   /api/2.1/clusters/list?x=1            workspace from X-Dbproxy-Workspace, else the default
//   /w/prod/api/2.1/clusters/list?x=1     workspace "prod" (the header may repeat it, not differ)
// and likewise for model serving invocations (/serving-endpoints/..., /w/<ws>/serving-endpoints/).
//
// Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/calls/classify.hpp"
#include "common/core/result.hpp"

namespace dbproxy {

// The header a caller may use to choose the workspace of an /api/... call.
inline constexpr std::string_view kWorkspaceHeader = "X-Dbproxy-Workspace";

struct ProxyRoute {
  std::string workspace;  // a valid workspace name (IsValidName); not checked against enrolment
  // Classification of the call; classification.normalized_path is the upstream path.
  Classification classification{};
  std::string query;  // the raw query after '?', byte for byte (empty when there was none)

  // What to send upstream as the request target: normalized_path, then "?" + query when the
  // caller sent a non-empty query.
  std::string UpstreamTarget() const;
};

// True when `target` is addressed to the proxy: its path is "/api", "/api/...",
// "/serving-endpoints/...", or "/w/<anything>/" followed by one of those. Cheap; decides only
// which handler gets the request (ParseProxyRoute then validates everything).
bool IsProxyTarget(std::string_view target);

// Splits and validates a proxied request.
//   `method`            the HTTP method as received (classification treats HEAD as GET)
//   `target`            the request target as received (origin form: path, optional "?query")
//   `workspace_header`  the value of X-Dbproxy-Workspace, or empty when absent
//   `default_workspace` the matched service's default workspace, may be empty
// The workspace is the /w/<ws>/ segment, else the header, else the default.
// Errors (none of them is ever forwarded):
//   kInvalidRequest: a '#' fragment or a target not in origin form; a workspace segment or
//     header that is not a valid name (IsValidName; the /w/ segment is taken literally, so a
//     percent-escape there is refused); /w/<ws>/ and the header naming different workspaces;
//     no workspace from any source (as for POST /v1/token); any path ClassifyCall rejects
//     (dot segments, encoded slashes, bad escapes, letter-case variants of known calls...).
//   kNotFound: not a proxy path (IsProxyTarget false).
Result<ProxyRoute> ParseProxyRoute(std::string_view method, std::string_view target,
                                   std::string_view workspace_header,
                                   std::string_view default_workspace);

}  // namespace dbproxy
