// Classifying a Databricks REST call (method, path) into the policy action it performs.
//
// Used by proxy mode to decide a call before forwarding it and by `dbproxyctl explain`. The one
// rule: a call is never classified as a cheaper action than what Databricks will execute. Paths
// that could be read differently by us and by the workspace are rejected, not guessed at.
//
// Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/core/result.hpp"

namespace dbproxy {

struct Classification {
  std::string action;           // e.g. "jobs.run"; "api.unknown" when no entry matches
  std::string normalized_path;  // the path the upstream will see, after normalisation
  std::string api_version;      // "2.0", "2.1", "2.2", "1.2" or ""
  std::string resource;         // e.g. "jobs", "clusters", "sql.statements"; "" when unknown
};

// Normalises `path` and classifies it with the table in call_routes.hpp.
//
// Normalisation: empty segments are dropped ("//" collapses, a trailing '/' goes away), and
// percent-escapes of unreserved characters are decoded ("run%2Dnow" -> "run-now"), so the
// normalised path contains only [A-Za-z0-9-._~] and '/'. Callers MUST forward
// `normalized_path`, never the original, so the workspace sees exactly what was classified.
//
// kInvalidRequest (never forward) when the path:
//   - does not start with "/api/<something>" or "/serving-endpoints/" once normalised (model
//     serving invocations live outside /api/), or is longer than 4096 bytes;
//   - contains a byte outside [A-Za-z0-9-._~/%]: "\\", NUL and control bytes, ';', '?', '#',
//     spaces, non-ASCII...;
//   - contains a percent-escape that is malformed or decodes to anything but an unreserved
//     character ("%2F", "%5c", "%00", "%3B"...);
//   - has a segment made only of dots (".", "..", also when spelt "%2e%2E").
//   - matches no row exactly but would match one if letter case were ignored
//     ("/api/2.1/Jobs/run-now", "/api/2.0/preview/scim/v2/me"): a server that ignores case
//     would execute the known call, so it must not pass as api.unknown.
// Matching is otherwise case-sensitive (identifiers in {id} segments keep their case).
// `method` is case-sensitive too; HEAD is classified as GET. A method that no row lists for a
// known path gets the API's most privileged action (FallbackAction), never a read.
// `path` excludes the query string (the caller splits it off; a '?' here is rejected).
Result<Classification> ClassifyCall(std::string_view method, std::string_view path);

}  // namespace dbproxy
