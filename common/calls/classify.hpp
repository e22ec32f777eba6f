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
// Normalisation: empty segments are dropped ("//" collapses, a trailing '/' goes away), each
// segment is percent-decoded, and re-encoded in one spelling: [A-Za-z0-9-._~] raw, every other
// byte as an upper-case escape ("run%2Dnow" -> "run-now", "my%20table" stays "my%20table",
// "caf\xC3\xA9" and "caf%c3%a9" -> "caf%C3%A9", "a+b" -> "a%2Bb"). Callers MUST
// forward `normalized_path`, never the original, so the workspace sees exactly what was
// classified.
//
// kInvalidRequest (never forward) when the path:
//   - does not start with "/api/<something>" or "/serving-endpoints/" once normalised (model
//     serving invocations live outside /api/), or is longer than 4096 bytes as sent or once
//     normalised (escapes can triple it);
//   - contains raw a byte outside [A-Za-z0-9-._~/%!$&'()*+,=:@] and non-ASCII: "\\", NUL and
//     control bytes, ';', '?', '#', spaces...;
//   - contains a percent-escape that is malformed or decodes to '/', '\\', ';', '%' (double
//     encoding) or a control byte ("%2F", "%5c", "%00", "%3B", "%25"...);
//   - has a segment made only of dots (".", "..", also when spelt "%2e%2E");
//   - has a segment with characters outside [A-Za-z0-9-._~] (spaces, non-ASCII, '+'...) and
//     matches no row: unusual names are accepted only inside a known API;
//   - matches no row exactly but would match another one if letter case were ignored and
//     characters outside [A-Za-z0-9-._~] were dropped ("/api/2.1/Jobs/run-now",
//     "/api/2.0/preview/scim/v2/me", "/api/2.1/jobs/list%20"): a server that ignores case or
//     trims names would execute the other call, so it must not pass as a cheaper one.
// Matching is otherwise case-sensitive (identifiers in {id} segments keep their case).
// `method` is case-sensitive too; HEAD is classified as GET. A method that no row lists for a
// known path gets the API's most privileged action (FallbackAction), never a read.
// `path` excludes the query string (the caller splits it off; a '?' here is rejected).
Result<Classification> ClassifyCall(std::string_view method, std::string_view path);

}  // namespace dbproxy
