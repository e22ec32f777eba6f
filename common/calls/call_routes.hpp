// The table from Databricks REST calls (method, path pattern) to policy actions.
//
// Data only: ClassifyCall (classify.hpp) normalises a path and matches it against this table.
// Kept apart from the matcher so that adding an endpoint is a one-line, reviewable change.
#pragma once

#include <span>
#include <string_view>

namespace dbproxy {

// One row of the table. Rows are tried in order and the first whose method and pattern both
// match decides, so a specific row must come before a general one of the same API.
//
// `pattern` is a '/'-separated list of segment patterns:
//   "list"       the literal segment (case-sensitive);
//   "{id}"       any one segment;
//   "temporary-*" any one segment starting with "temporary-" (a '*' is allowed only at the end);
//   "**"         zero or more segments (only as the last segment pattern).
// With `versions` non-empty the pattern is matched against the segments after "/api/<version>/"
// where <version> is one of the space-separated `versions`; with `versions` empty it is matched
// against the whole path (used for "/serving-endpoints/{name}/invocations", which has no /api/).
struct CallRoute {
  std::string_view method = {};    // "GET", "POST", "PUT", "PATCH", "DELETE", or "*" for any
  std::string_view versions = {};  // e.g. "2.0 2.1 2.2"; empty: pattern starts at the root
  std::string_view pattern = {};
  std::string_view action = {};    // one of KnownActions()
  std::string_view resource = {};  // the API family, e.g. "jobs", "sql.statements"
};

// All rows, in matching order. Static storage; thread-safe.
std::span<const CallRoute> CallRoutes();

// The action for a call whose path matches a row of `resource` but whose method matches none:
// the most privileged action of that API, or "api.unknown" when no single action of the API
// covers all the others (secrets: reading values vs. managing them).
// "api.unknown" for an unknown resource.
std::string_view FallbackAction(std::string_view resource);

}  // namespace dbproxy
