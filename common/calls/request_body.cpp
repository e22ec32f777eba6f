#include "common/calls/request_body.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <limits>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/oauth/oauth.hpp"

namespace dbproxy {
namespace {

using Json = nlohmann::ordered_json;

// kClusterUpdate: clusters/update, the cluster under "cluster". kJobSettings: jobs create,
// reset, update and runs/submit, clusters under every "new_cluster" key (tasks, job_clusters,
// for_each tasks, the 2.0 top level); reset and update also carry job_id.
// kTarget: secrets, workspace and DBFS calls whose small body names a secret scope and key or a
// path (workspace/import and dbfs/put carry file contents and are streamed unread).
enum class BodyKind {
  kNone, kSqlStatement, kJobId, kCluster, kClusterUpdate, kJobSettings, kTarget
};

// Far deeper than any Databricks request; bounds the work on hostile input.
constexpr int kMaxDepth = 64;

constexpr std::array<std::string_view, 5> kSqlFields = {"warehouse_id", "row_limit", "byte_limit",
                                                        "disposition", "statement"};
constexpr std::array<std::string_view, 1> kJobFields = {"job_id"};
constexpr std::array<std::string_view, 4> kClusterFields = {"node_type_id", "driver_node_type_id",
                                                            "num_workers", "autoscale"};
// Keys that lead to clusters in nested bodies; checked for ambiguous spellings at every depth.
constexpr std::array<std::string_view, 10> kNestedClusterFields = {
    "node_type_id", "driver_node_type_id", "num_workers", "autoscale", "max_workers",
    "new_cluster",  "cluster",             "job_id",      "new_settings", "job_clusters"};

constexpr std::array<std::string_view, 3> kTargetFields = {"scope", "key", "path"};
// Longest secret scope, key or target path read (Databricks' own limits are far lower).
constexpr std::size_t kMaxTargetBytes = 4096;

constexpr std::string_view kBody = "request body";
constexpr std::string_view kQuery = "query";

Error Invalid(std::string_view where, std::string message) {
  return MakeError(Errc::kInvalidRequest, std::string(where) + ": " + std::move(message));
}
Error Invalid(std::string message) { return Invalid(kBody, std::move(message)); }

// The tail of "/api/<version>/<tail>", or empty.
std::string_view ApiTail(const Classification& call) {
  if (call.api_version.empty()) return {};
  const std::string prefix = "/api/" + call.api_version + "/";
  const std::string_view path = call.normalized_path;
  return path.starts_with(prefix) ? path.substr(prefix.size()) : std::string_view();
}

BodyKind KindOf(const Classification& call, std::string_view method) {
  if (method != "POST") return BodyKind::kNone;
  const std::string_view tail = ApiTail(call);
  if (call.resource == "sql.statements" && call.api_version == "2.0" && tail == "sql/statements") {
    return BodyKind::kSqlStatement;
  }
  if (call.resource == "jobs") {
    for (std::string_view verb : {"create", "reset", "update", "runs/submit"}) {
      if (tail == "jobs/" + std::string(verb)) return BodyKind::kJobSettings;
    }
    for (std::string_view verb : {"run-now", "delete", "runs/cancel-all"}) {
      if (tail == "jobs/" + std::string(verb)) return BodyKind::kJobId;
    }
  }
  if (call.resource == "clusters") {
    for (std::string_view verb : {"create", "edit", "resize"}) {
      if (tail == "clusters/" + std::string(verb)) return BodyKind::kCluster;
    }
    if (tail == "clusters/update") return BodyKind::kClusterUpdate;
  }
  const auto is_one_of = [tail](std::string_view prefix, auto... verbs) {
    return ((tail == std::string(prefix) + verbs) || ...);
  };
  if ((call.resource == "secrets" &&
       is_one_of("secrets/", "put", "delete", "scopes/create", "scopes/delete", "acls/put",
                 "acls/delete")) ||
      (call.resource == "workspace" && is_one_of("workspace/", "mkdirs", "delete")) ||
      (call.resource == "dbfs" && is_one_of("dbfs/", "mkdirs", "delete", "create"))) {
    return BodyKind::kTarget;
  }
  return BodyKind::kNone;
}

// Resources whose calls name a secret scope and key (secrets) or a path (workspace, dbfs) in
// their query or body.
bool NamesTarget(std::string_view resource) {
  return resource == "secrets" || resource == "workspace" || resource == "dbfs";
}

// A secret scope or key as Databricks allows it: letters, digits, '-', '_', '.', '@'. Anything
// else would be refused by the workspace anyway; refusing it here means no spelling can read
// differently there than in a rule.
Status CheckSecretName(std::string_view where, std::string_view field, std::string_view value) {
  const bool valid =
      !value.empty() && value.size() <= kMaxTargetBytes &&
      std::all_of(value.begin(), value.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.' || c == '@';
      });
  if (valid) return Status::Ok();
  return Invalid(where, std::string(field) + " must be letters, digits, '-', '_', '.' or '@'");
}

// A workspace, DBFS or Files path in the one spelling rules compare: absolute ("dbfs:/x" is
// "/x" on DBFS), no trailing '/' but for the root, no empty, "." or ".." segment and no control
// byte (each would let "/Shared/etl/*" match a path the workspace reads elsewhere).
Result<std::string> TargetPath(std::string_view where, std::string_view resource,
                               std::string_view value) {
  std::string_view path = value;
  if (resource == "dbfs" && path.starts_with("dbfs:/")) path.remove_prefix(5);
  if (path.empty() || path.front() != '/') return Invalid(where, "path must be absolute");
  if (path.size() > kMaxTargetBytes) return Invalid(where, "path is too long");
  for (char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Invalid(where, "path holds a control character");
    }
  }
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  for (std::size_t start = 1; path.size() > 1 && start <= path.size();) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view segment = path.substr(start, end - start);
    if (segment.empty()) return Invalid(where, "path has an empty segment");
    if (segment == "." || segment == "..") return Invalid(where, "path has a '.' or '..' segment");
    start = end + 1;
  }
  return std::string(path);
}

// Keeps `found` as the value of `field`, or refuses it when another spelling already gave one.
Status Agree(std::string_view field, std::optional<std::string> found,
             std::optional<std::string>& into) {
  if (!found) return Status::Ok();
  if (into && *into != *found) {
    return Invalid(kQuery, std::string(field) + " in the query and in the body differ");
  }
  into = std::move(found);
  return Status::Ok();
}

// The path a Files API call names in its own URL: "/api/2.0/fs/files/Volumes/a/b%20c" is
// "/Volumes/a/b c". Absent for other calls.
Status ReadFilesPath(const Classification& call, BodyFacts& facts) {
  if (call.resource != "files") return Status::Ok();
  const std::string_view tail = ApiTail(call);
  for (std::string_view prefix : {"fs/files/", "fs/directories/"}) {
    if (!tail.starts_with(prefix)) continue;
    Result<std::string> decoded = UrlDecode(tail.substr(prefix.size() - 1));
    if (!decoded) return Invalid("path", "malformed percent-escape");
    Result<std::string> path = TargetPath("path", call.resource, *decoded);
    if (!path) return std::move(path).error();
    facts.target_path = std::move(*path);
  }
  return Status::Ok();
}

// "rowLimit", "ROW_LIMIT" and "row_limit" all fold to "rowlimit".
std::string Folded(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '_') continue;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

// Parses `body` as one JSON object, refusing what another parser could read differently: a key
// repeated in any object, nesting deeper than kMaxDepth, and (at the top level, or at every
// depth with `any_depth`) a spelling of one of `fields` other than the exact one.
template <std::size_t N>
Result<Json> ParseStrict(std::string_view body, const std::array<std::string_view, N>& fields,
                         bool any_depth = false) {
  if (body.empty()) return Json::object();
  std::vector<std::set<std::string>> open_objects;
  std::string problem;
  auto note = [&problem](std::string text) {
    if (problem.empty()) problem = std::move(text);
  };
  Json::parser_callback_t callback = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth > kMaxDepth) note("nested deeper than " + std::to_string(kMaxDepth) + " levels");
    if (event == Json::parse_event_t::object_start) open_objects.emplace_back();
    if (event == Json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event != Json::parse_event_t::key || open_objects.empty()) return true;
    const std::string& key = parsed.get_ref<const std::string&>();
    for (std::string_view field : fields) {
      if ((depth == 1 || any_depth) && key != field && Folded(key) == Folded(field)) {
        note(std::string(field) + " is spelt ambiguously");
      }
    }
    if (!open_objects.back().insert(key).second) note("a key appears twice in one object");
    return true;
  };
  Json parsed = Json::parse(body, callback, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Invalid("not valid JSON");
  if (!problem.empty()) return Invalid(problem);
  if (!parsed.is_object()) return Invalid("not a JSON object");
  return parsed;
}

// Reads optional fields of one JSON object; the first type error sticks and later reads give
// nullopt. A null value counts as absent (the protobuf reading of null).
class FieldReader {
 public:
  explicit FieldReader(const Json& object) : object_(object) {}

  std::optional<std::string> String(const char* key) {
    const Json* value = Find(key);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) return Fail(std::string(key) + " must be a string");
    return value->get<std::string>();
  }

  // A non-negative JSON integer (no string, fraction or exponent form).
  std::optional<std::int64_t> Count(const char* key) {
    const Json* value = Find(key);
    if (value == nullptr) return std::nullopt;
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (value->is_number_unsigned() && value->get<std::uint64_t>() <= kMax) {
      return static_cast<std::int64_t>(value->get<std::uint64_t>());
    }
    if (value->is_number_integer() && !value->is_number_unsigned() &&
        value->get<std::int64_t>() >= 0) {
      return value->get<std::int64_t>();
    }
    return Fail(std::string(key) + " must be a non-negative integer");
  }

  const Json* Object(const char* key) {
    const Json* value = Find(key);
    if (value != nullptr && !value->is_object()) {
      Fail(std::string(key) + " must be an object");
      return nullptr;
    }
    return value;
  }

  Status status() const { return error_ ? Status(*error_) : Status::Ok(); }

 private:
  const Json* Find(const char* key) const {
    if (error_) return nullptr;
    const auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  std::nullopt_t Fail(std::string message) {
    if (!error_) error_ = Invalid(std::move(message));
    return std::nullopt;
  }

  const Json& object_;
  std::optional<Error> error_;
};

std::string Sha256Hex(std::string_view text) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(text.data()),
                     text.size());
  std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  return std::string(hex.data(), crypto_hash_sha256_BYTES * 2);
}

Status ReadSql(const Json& body, BodyFacts& facts) {
  FieldReader reader(body);
  facts.warehouse = reader.String("warehouse_id");
  facts.disposition = reader.String("disposition");
  facts.row_limit = reader.Count("row_limit");
  facts.byte_limit = reader.Count("byte_limit");
  // 0 is the protobuf default: Databricks reads it as "no limit", so it is no limit here either.
  if (facts.row_limit == 0) facts.row_limit.reset();
  if (facts.byte_limit == 0) facts.byte_limit.reset();
  if (const std::optional<std::string> statement = reader.String("statement")) {
    facts.statement_bytes = static_cast<std::int64_t>(statement->size());
    facts.statement_sha256 = Sha256Hex(*statement);
  }
  facts.sql_statement = true;
  return reader.status();
}

Status ReadJob(const Json& body, BodyFacts& facts) {
  FieldReader reader(body);
  if (const std::optional<std::int64_t> job_id = reader.Count("job_id")) {
    facts.job_id = std::to_string(*job_id);
  }
  return reader.status();
}

Status ReadCluster(const Json& body, BodyFacts& facts) {
  FieldReader reader(body);
  facts.node_type = reader.String("node_type_id");
  facts.driver_node_type = reader.String("driver_node_type_id");
  facts.num_workers = reader.Count("num_workers");
  if (const Json* autoscale = reader.Object("autoscale")) {
    FieldReader inner(*autoscale);
    const std::optional<std::int64_t> max_workers = inner.Count("max_workers");
    if (!inner.status().ok()) return inner.status();
    if (max_workers && (!facts.num_workers || *max_workers > *facts.num_workers)) {
      facts.num_workers = max_workers;
    }
  }
  return reader.status();
}

// Adds the facts of one more cluster of the same call: the largest worker count wins; node
// types must agree, since one fact cannot hold two values and a rule must see them all.
Status MergeClusterFacts(const BodyFacts& cluster, BodyFacts& facts) {
  if (cluster.num_workers && (!facts.num_workers || *cluster.num_workers > *facts.num_workers)) {
    facts.num_workers = cluster.num_workers;
  }
  const auto merge = [](const std::optional<std::string>& value, std::optional<std::string>& into,
                        std::string_view field) -> Status {
    if (!value) return Status::Ok();
    if (into && *into != *value) {
      return Invalid("clusters of one call name different " + std::string(field) + " values");
    }
    into = value;
    return Status::Ok();
  };
  if (Status status = merge(cluster.node_type, facts.node_type, "node_type_id"); !status.ok()) {
    return status;
  }
  return merge(cluster.driver_node_type, facts.driver_node_type, "driver_node_type_id");
}

// Every object under a "new_cluster" key, at any depth (ParseStrict bounded the depth).
Status ReadNestedClusters(const Json& value, BodyFacts& facts) {
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if (key == "new_cluster" && !item.is_null()) {
        if (!item.is_object()) return Invalid("new_cluster must be an object");
        BodyFacts cluster;
        if (Status status = ReadCluster(item, cluster); !status.ok()) return status;
        if (Status status = MergeClusterFacts(cluster, facts); !status.ok()) return status;
      }
      if (Status status = ReadNestedClusters(item, facts); !status.ok()) return status;
    }
  } else if (value.is_array()) {
    for (const Json& item : value) {
      if (Status status = ReadNestedClusters(item, facts); !status.ok()) return status;
    }
  }
  return Status::Ok();
}

// jobs create, reset, update, runs/submit: job_id (reset and update only: a job_id in a
// create body names no job and must not satisfy a rule) and every cluster.
Status ReadJobSettings(const Json& body, bool has_job_id, BodyFacts& facts) {
  if (has_job_id) {
    if (Status status = ReadJob(body, facts); !status.ok()) return status;
  }
  return ReadNestedClusters(body, facts);
}

// clusters/update: the cluster is under "cluster".
Status ReadClusterUpdate(const Json& body, BodyFacts& facts) {
  FieldReader reader(body);
  const Json* cluster = reader.Object("cluster");
  if (!reader.status().ok()) return reader.status();
  return cluster == nullptr ? Status::Ok() : ReadCluster(*cluster, facts);
}

// secrets: scope and key; workspace and dbfs: path.
Status ReadTarget(const Classification& call, const Json& body, BodyFacts& facts) {
  FieldReader reader(body);
  if (call.resource == "secrets") {
    std::optional<std::string> scope = reader.String("scope");
    std::optional<std::string> key = reader.String("key");
    if (!reader.status().ok()) return reader.status();
    if (scope) {
      if (Status s = CheckSecretName(kBody, "scope", *scope); !s.ok()) return s;
      facts.secret_scope = std::move(scope);
    }
    if (key) {
      if (Status s = CheckSecretName(kBody, "key", *key); !s.ok()) return s;
      facts.secret_key = std::move(key);
    }
    return Status::Ok();
  }
  std::optional<std::string> path = reader.String("path");
  if (!reader.status().ok()) return reader.status();
  if (!path) return Status::Ok();
  Result<std::string> target = TargetPath(kBody, call.resource, *path);
  if (!target) return std::move(target).error();
  facts.target_path = std::move(*target);
  return Status::Ok();
}

// Accepts "123" and "0123" (read as 123), refuses signs, spaces and anything over 18 digits.
std::optional<std::string> CanonicalJobId(std::string_view text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != text.npos) {
    return std::nullopt;
  }
  return std::to_string(std::stoll(std::string(text)));
}

// A server that fills request fields from query parameters too would read "?row_limit=9" on a
// statement submission past our look at the body: such keys are refused on inspected calls.
template <std::size_t N>
Status CheckQueryKeyAgainst(std::string_view key, const std::array<std::string_view, N>& fields) {
  const std::string folded = Folded(key);
  for (std::string_view field : fields) {
    const std::string name = Folded(field);
    if (folded == name || folded.starts_with(name + ".")) {
      return Invalid(kQuery, std::string(field) + " belongs in the body");
    }
  }
  return Status::Ok();
}

Status CheckQueryKey(BodyKind kind, std::string_view key) {
  if (kind == BodyKind::kSqlStatement) return CheckQueryKeyAgainst(key, kSqlFields);
  if (kind == BodyKind::kCluster || kind == BodyKind::kClusterUpdate ||
      kind == BodyKind::kJobSettings) {
    return CheckQueryKeyAgainst(key, kClusterFields);
  }
  return Status::Ok();
}

}  // namespace

bool BodyNeedsInspection(const Classification& call, std::string_view method) {
  return KindOf(call, method) != BodyKind::kNone;
}

Result<BodyFacts> InspectBody(const Classification& call, std::string_view body) {
  BodyFacts facts;
  Status status;
  switch (KindOf(call, "POST")) {
    case BodyKind::kNone:
      return facts;
    case BodyKind::kSqlStatement: {
      Result<Json> json = ParseStrict(body, kSqlFields);
      if (!json) return std::move(json).error();
      status = ReadSql(*json, facts);
      break;
    }
    case BodyKind::kJobId: {
      Result<Json> json = ParseStrict(body, kJobFields);
      if (!json) return std::move(json).error();
      status = ReadJob(*json, facts);
      break;
    }
    case BodyKind::kCluster: {
      Result<Json> json = ParseStrict(body, kClusterFields);
      if (!json) return std::move(json).error();
      status = ReadCluster(*json, facts);
      break;
    }
    case BodyKind::kClusterUpdate: {
      Result<Json> json = ParseStrict(body, kNestedClusterFields, /*any_depth=*/true);
      if (!json) return std::move(json).error();
      status = ReadClusterUpdate(*json, facts);
      break;
    }
    case BodyKind::kJobSettings: {
      Result<Json> json = ParseStrict(body, kNestedClusterFields, /*any_depth=*/true);
      if (!json) return std::move(json).error();
      const bool has_job_id = !call.normalized_path.ends_with("/create") &&
                              !call.normalized_path.ends_with("/runs/submit");
      status = ReadJobSettings(*json, has_job_id, facts);
      break;
    }
    case BodyKind::kTarget: {
      Result<Json> json = ParseStrict(body, kTargetFields);
      if (!json) return std::move(json).error();
      status = ReadTarget(call, *json, facts);
      break;
    }
  }
  if (!status.ok()) return std::move(status).error();
  return facts;
}

Status InspectQuery(const Classification& call, std::string_view query, BodyFacts& facts) {
  if (Status files = ReadFilesPath(call, facts); !files.ok()) return files;
  const BodyKind kind = KindOf(call, "POST");
  const bool jobs = call.resource == "jobs";
  const bool targets = NamesTarget(call.resource);
  if (!jobs && !targets && kind != BodyKind::kSqlStatement && kind != BodyKind::kCluster &&
      kind != BodyKind::kClusterUpdate) {
    return Status::Ok();
  }
  std::optional<std::string> found;
  std::optional<std::string> scope, key, path;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t equals = pair.find('=');
    Result<std::string> name = UrlDecode(pair.substr(0, equals));
    if (!name) return Invalid(kQuery, "malformed percent-escape");
    if (Status status = CheckQueryKey(kind, *name); !status.ok()) return status;
    const std::string folded = Folded(*name);
    const std::string_view raw_value =
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    if (jobs && folded == "jobid") {
      if (*name != "job_id") return Invalid(kQuery, "job_id is spelt ambiguously");
      if (found) return Invalid(kQuery, "job_id is given twice");
      Result<std::string> value = UrlDecode(raw_value);
      std::optional<std::string> job_id = value ? CanonicalJobId(*value) : std::nullopt;
      if (!job_id) return Invalid(kQuery, "job_id must be a number");
      found = std::move(job_id);
      continue;
    }
    // scope and key of secrets calls, path of workspace and DBFS calls.
    std::optional<std::string>* slot = nullptr;
    std::string_view field;
    if (call.resource == "secrets" && (folded == "scope" || folded == "key")) {
      slot = folded == "scope" ? &scope : &key;
      field = folded == "scope" ? "scope" : "key";
    } else if (targets && call.resource != "secrets" && folded == "path") {
      slot = &path;
      field = "path";
    }
    if (slot == nullptr) continue;
    if (*name != field) return Invalid(kQuery, std::string(field) + " is spelt ambiguously");
    if (*slot) return Invalid(kQuery, std::string(field) + " is given twice");
    // A form decoder reads '+' as a space, RFC 3986 as '+': only an escape is unambiguous.
    if (raw_value.find('+') != std::string_view::npos) {
      return Invalid(kQuery, std::string(field) + " must spell '+' and ' ' as %2B and %20");
    }
    Result<std::string> value = UrlDecode(raw_value);
    if (!value) return Invalid(kQuery, "malformed percent-escape");
    if (field == "path") {
      Result<std::string> target = TargetPath(kQuery, call.resource, *value);
      if (!target) return std::move(target).error();
      *slot = std::move(*target);
    } else {
      if (Status s = CheckSecretName(kQuery, field, *value); !s.ok()) return s;
      *slot = std::move(*value);
    }
  }
  if (Status s = Agree("scope", std::move(scope), facts.secret_scope); !s.ok()) return s;
  if (Status s = Agree("key", std::move(key), facts.secret_key); !s.ok()) return s;
  if (Status s = Agree("path", std::move(path), facts.target_path); !s.ok()) return s;
  return Agree("job_id", std::move(found), facts.job_id);
}

void AddToRequestFacts(const BodyFacts& body, RequestFacts& facts) {
  if (body.warehouse) facts.warehouse = body.warehouse;
  if (body.row_limit) facts.row_limit = body.row_limit;
  if (body.byte_limit) facts.byte_limit = body.byte_limit;
  if (body.disposition) facts.disposition = body.disposition;
  if (body.statement_bytes) facts.statement_bytes = body.statement_bytes;
  if (body.job_id) facts.job_id = body.job_id;
  if (body.node_type) facts.node_type = body.node_type;
  if (body.driver_node_type) facts.driver_node_type = body.driver_node_type;
  if (body.num_workers) facts.num_workers = body.num_workers;
  if (body.secret_scope) facts.secret_scope = body.secret_scope;
  if (body.secret_key) facts.secret_key = body.secret_key;
  if (body.target_path) facts.target_path = body.target_path;
  if (body.sql_statement) facts.sql_statement_body = true;
}

Result<std::string> ApplyClamps(std::string_view body, const RoleLimits& limits,
                                const BodyFacts& facts) {
  const auto over = [](const std::optional<std::int64_t>& value, std::int64_t max) {
    return !value || *value > max;
  };
  const bool rows = limits.sql_row_limit_clamp && limits.sql_row_limit_max &&
                    over(facts.row_limit, *limits.sql_row_limit_max);
  const bool bytes = limits.sql_byte_limit_clamp && limits.sql_byte_limit_max &&
                     over(facts.byte_limit, *limits.sql_byte_limit_max);
  if (!rows && !bytes) return std::string(body);
  Result<Json> json = ParseStrict(body, kSqlFields);
  if (!json) return std::move(json).error();
  // Re-serialising must not change what Databricks reads: integers and strings survive exactly,
  // a number beyond 64 bits or with a fraction might not. No statement field is one.
  bool inexact = false;
  auto visit = [&inexact](auto& self, const Json& value) -> void {
    if (value.is_number_float()) inexact = true;
    if (value.is_structured()) {
      for (const Json& item : value) self(self, item);
    }
  };
  visit(visit, *json);
  if (inexact) return Invalid("a clamped statement may not hold non-integer numbers");
  if (rows) (*json)["row_limit"] = *limits.sql_row_limit_max;
  if (bytes) (*json)["byte_limit"] = *limits.sql_byte_limit_max;
  return json->dump();
}

}  // namespace dbproxy
