#include "common/calls/request_body.hpp"

#include <sodium.h>

#include <array>
#include <limits>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/oauth/oauth.hpp"

namespace dbproxy {
namespace {

using Json = nlohmann::ordered_json;

enum class BodyKind { kNone, kSqlStatement, kJobId, kCluster };

// Far deeper than any Databricks request; bounds the work on hostile input.
constexpr int kMaxDepth = 64;

constexpr std::array<std::string_view, 5> kSqlFields = {"warehouse_id", "row_limit", "byte_limit",
                                                        "disposition", "statement"};
constexpr std::array<std::string_view, 1> kJobFields = {"job_id"};
constexpr std::array<std::string_view, 4> kClusterFields = {"node_type_id", "driver_node_type_id",
                                                            "num_workers", "autoscale"};

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
    for (std::string_view verb : {"run-now", "reset", "update", "delete", "runs/cancel-all"}) {
      if (tail == "jobs/" + std::string(verb)) return BodyKind::kJobId;
    }
  }
  if (call.resource == "clusters") {
    for (std::string_view verb : {"create", "edit", "resize"}) {
      if (tail == "clusters/" + std::string(verb)) return BodyKind::kCluster;
    }
  }
  return BodyKind::kNone;
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
// repeated in any object, nesting deeper than kMaxDepth, and (at the top level) a spelling of
// one of `fields` other than the exact one.
template <std::size_t N>
Result<Json> ParseStrict(std::string_view body, const std::array<std::string_view, N>& fields) {
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
      if (depth == 1 && key != field && Folded(key) == Folded(field)) {
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
  if (kind == BodyKind::kCluster) return CheckQueryKeyAgainst(key, kClusterFields);
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
  }
  if (!status.ok()) return std::move(status).error();
  return facts;
}

Status InspectQuery(const Classification& call, std::string_view query, BodyFacts& facts) {
  const BodyKind kind = KindOf(call, "POST");
  if (call.resource != "jobs" && kind != BodyKind::kSqlStatement && kind != BodyKind::kCluster) {
    return Status::Ok();
  }
  std::optional<std::string> found;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t equals = pair.find('=');
    Result<std::string> key = UrlDecode(pair.substr(0, equals));
    if (!key) return Invalid(kQuery, "malformed percent-escape");
    if (Status status = CheckQueryKey(kind, *key); !status.ok()) return status;
    if (call.resource != "jobs" || Folded(*key) != "jobid") continue;
    if (*key != "job_id") return Invalid(kQuery, "job_id is spelt ambiguously");
    if (found) return Invalid(kQuery, "job_id is given twice");
    Result<std::string> value =
        UrlDecode(equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1));
    std::optional<std::string> job_id = value ? CanonicalJobId(*value) : std::nullopt;
    if (!job_id) return Invalid(kQuery, "job_id must be a number");
    found = std::move(job_id);
  }
  if (!found) return Status::Ok();
  if (facts.job_id && *facts.job_id != *found) {
    return Invalid(kQuery, "job_id in the query and in the body differ");
  }
  facts.job_id = std::move(found);
  return Status::Ok();
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
