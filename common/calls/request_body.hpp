// Proxy mode: the facts a policy reads from a call's JSON body and query string.
//
//   POST .../sql/statements          warehouse_id, row_limit, byte_limit, disposition, statement
//   POST jobs run-now, reset, update, delete, runs/cancel-all      job_id
//   GET  jobs get, runs/list (query)                               job_id
//   POST clusters create, edit, resize   node_type_id, driver_node_type_id, num_workers,
//                                        autoscale.max_workers
//   POST clusters update                 the same, under "cluster"
//   POST jobs create, reset, update, runs/submit   the same, in every "new_cluster" object at
//                                        any depth (tasks, job_clusters, new_settings...): the
//                                        largest worker count; node types must agree across
//                                        clusters (refused otherwise: one fact, one value)
//   POST secrets put, delete, scopes/create, scopes/delete, acls/put, acls/delete   scope, key
//   POST workspace mkdirs, delete; dbfs mkdirs, delete, create                      path
//   (workspace/import and dbfs/put carry file contents: streamed unread, their path is absent)
//   GET/... secrets (query)  scope, key;  workspace, dbfs (query)  path;  Files API: the URL path
//
// A fact the body does not carry stays absent, and an absent fact fails every rule test except
// `present = false`, `ne`, `not_in`: a caller cannot pass a rule by leaving a field out.
// Ambiguity is refused rather than guessed at, because Databricks might read it differently:
// a repeated inspected key, a key that differs from an inspected one only by case or
// underscores ("rowLimit", "ROW_LIMIT"), a non-object body, and a number sent as a string or
// with a fraction. row_limit/byte_limit 0 mean "not set" to Databricks and are absent here.
// Error messages name the field, never its value (a statement may hold secrets).
//
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/calls/classify.hpp"
#include "common/policy/policy.hpp"
#include "common/core/result.hpp"

namespace dbproxy {

struct BodyFacts {
  std::optional<std::string> warehouse{};     // sql statements: warehouse_id
  std::optional<std::int64_t> row_limit{};    // > 0
  std::optional<std::int64_t> byte_limit{};   // > 0
  std::optional<std::string> disposition{};   // "INLINE", "EXTERNAL_LINKS", as sent
  std::optional<std::int64_t> statement_bytes{};
  std::string statement_sha256{};              // 64 lowercase hex digits; empty: no statement
  std::optional<std::string> job_id{};         // decimal, canonical ("012" -> "12")
  std::optional<std::string> node_type{};      // clusters: node_type_id
  std::optional<std::string> driver_node_type{};  // clusters: driver_node_type_id
  // clusters: the largest of num_workers and autoscale.max_workers that the body sets.
  std::optional<std::int64_t> num_workers{};
  std::optional<std::string> secret_scope{};  // secrets: scope (query or body)
  std::optional<std::string> secret_key{};    // secrets: key (query or body)
  // workspace and dbfs: path (query or body); files: the path in the URL. Absolute, decoded,
  // in one spelling (see InspectQuery).
  std::optional<std::string> target_path{};
  // The body was read as a statement submission, so a clamping role may rewrite it.
  bool sql_statement = false;
};

// Whether the proxy must buffer and inspect the request body of this call (see the table
// above). Calls not listed stream their body unread; their body facts stay absent.
bool BodyNeedsInspection(const Classification& call, std::string_view method);

// Reads the facts of `body` (the complete request body; an empty body counts as "{}") for the
// call, taken as the POST the table above lists. Returns empty facts for other calls.
// REQUIRES: BodyNeedsInspection(call, method) for the request's method.
// Errors: kInvalidRequest for malformed JSON, a non-object body, a wrong type or a negative
// value ("row_limit must be an integer"), or an ambiguous key (see above).
// REQUIRES: the caller bounded `body` (config: proxy.inspect_body_limit).
Result<BodyFacts> InspectBody(const Classification& call, std::string_view body);

// Reads job_id from the raw query string of a jobs call (GET jobs/get, jobs/runs/list...),
// scope and key from a secrets call's, path from a workspace or DBFS call's, and the path a
// Files API call names in its URL, into `facts`; when `facts` already holds one (from
// InspectBody), the query's must be the same. Paths are decoded and must be absolute, without
// an empty, "." or ".." segment or a control byte ("dbfs:/x" reads as "/x"; one trailing '/' is
// dropped); a scope or key is letters, digits, '-', '_', '.', '@'; a '+' in those values must
// be escaped (form decoding reads it as a space).
// On a statement submission or a cluster create/edit/resize, refuses query keys that name an
// inspected body field ("?row_limit=", "?autoscale.max_workers="): a server that also reads
// fields from the query would see a value the policy did not.
// Errors: kInvalidRequest for a repeated, ambiguous or non-numeric job_id, scope, key or path,
// one that differs from the body's, an invalid path or name, an inspected field in the query,
// or a bad escape.
Status InspectQuery(const Classification& call, std::string_view query, BodyFacts& facts);

// Copies the facts into the evaluator's request facts (leaves the others alone).
void AddToRequestFacts(const BodyFacts& body, RequestFacts& facts);

// The body to forward for a call whose Decision has non-empty `clamps`: `body` with row_limit
// (byte_limit) set to limits.sql_row_limit_max (sql_byte_limit_max) where the role clamps it
// (sql_row_limit_clamp, sql_byte_limit_clamp) and `facts` show it absent or above the maximum.
// Every other field is kept, in order; numbers and strings are re-serialised by the JSON
// library (same values, possibly different spacing). Returns `body` unchanged when nothing
// needs clamping. Errors: kInvalidRequest when `body` is not a JSON object (InspectBody has
// normally refused it already).
// REQUIRES: `facts` came from InspectBody on this same `body`.
Result<std::string> ApplyClamps(std::string_view body, const RoleLimits& limits,
                                const BodyFacts& facts);

}  // namespace dbproxy
