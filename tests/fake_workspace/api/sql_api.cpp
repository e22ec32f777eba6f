#include "tests/fake_workspace/api/sql_api.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "tests/fake_workspace/encoding.hpp"

namespace dbproxy::fake {
namespace {

constexpr std::int64_t kResultRows = 10;
constexpr char kLinkExpiration[] = "2099-01-01T00:00:00.000Z";

struct StatementRequest {
  std::string statement;
  std::string warehouse_id;
  std::int64_t row_limit = kResultRows;
  std::optional<std::int64_t> byte_limit = std::nullopt;
  std::string disposition = "INLINE";
  std::string format = "JSON_ARRAY";
};

// A token limited to ":restricted-query" may only submit statements that read. The fake judges by
// the first keyword; how Databricks enforces this server-side is not documented.
bool IsReadOnlyStatement(std::string_view statement) {
  const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  const auto is_alpha = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; };
  const auto start = std::find_if_not(statement.begin(), statement.end(), is_space);
  const auto end = std::find_if_not(start, statement.end(), is_alpha);
  const std::string_view keyword = statement.substr(
      static_cast<std::size_t>(start - statement.begin()), static_cast<std::size_t>(end - start));
  constexpr std::array<std::string_view, 7> kReadKeywords = {"SELECT",  "SHOW", "DESCRIBE", "DESC",
                                                             "EXPLAIN", "WITH", "VALUES"};
  return std::any_of(kReadKeywords.begin(), kReadKeywords.end(),
                     [keyword](std::string_view read) { return EqualsIgnoreCase(keyword, read); });
}

bool IsNonEmptyString(const nlohmann::json& body, const char* field) {
  return body.contains(field) && body[field].is_string() &&
         !body[field].get_ref<const std::string&>().empty();
}

// Reads an optional non-negative integer field; false when present and not one.
bool ReadLimit(const nlohmann::json& body, const char* field, std::int64_t* value) {
  if (!body.contains(field)) return true;
  if (!body[field].is_number_integer() || body[field].get<std::int64_t>() < 0) return false;
  *value = body[field].get<std::int64_t>();
  return true;
}

std::variant<StatementRequest, FakeReply> ParseStatementRequest(const nlohmann::json& body,
                                                                const WorkspaceState& state) {
  StatementRequest request;
  if (!IsNonEmptyString(body, "statement")) return InvalidParameter("statement is required");
  if (!IsNonEmptyString(body, "warehouse_id")) return InvalidParameter("warehouse_id is required");
  request.statement = body["statement"];
  request.warehouse_id = body["warehouse_id"];
  if (!state.warehouses.contains(request.warehouse_id)) {
    return InvalidParameter(request.warehouse_id + " is not a valid endpoint id.");
  }
  if (!ReadLimit(body, "row_limit", &request.row_limit)) {
    return InvalidParameter("row_limit must be a non-negative integer");
  }
  std::int64_t byte_limit = 0;
  if (!ReadLimit(body, "byte_limit", &byte_limit)) {
    return InvalidParameter("byte_limit must be a non-negative integer");
  }
  if (body.contains("byte_limit")) request.byte_limit = byte_limit;
  if (body.contains("disposition")) {
    if (body["disposition"] != "INLINE" && body["disposition"] != "EXTERNAL_LINKS") {
      return InvalidParameter("disposition must be INLINE or EXTERNAL_LINKS");
    }
    request.disposition = body["disposition"];
  }
  if (body.contains("format")) {
    if (body["format"] != "JSON_ARRAY" && body["format"] != "ARROW_STREAM" &&
        body["format"] != "CSV") {
      return InvalidParameter("format must be JSON_ARRAY, ARROW_STREAM or CSV");
    }
    request.format = body["format"];
  }
  if (request.disposition == "INLINE" && request.format != "JSON_ARRAY") {
    return InvalidParameter("The INLINE disposition only supports the JSON_ARRAY format");
  }
  return request;
}

nlohmann::json FailedStatement(const std::string& id) {
  return {{"statement_id", id},
          {"status",
           {{"state", "FAILED"},
            {"error",
             {{"error_code", "BAD_REQUEST"},
              {"message", "[FAKE_FAILURE] The statement asked the fake workspace to fail."}}}}}};
}

// The result rows, cut by row_limit and then by byte_limit (bytes of each row as JSON).
nlohmann::json ResultRows(const StatementRequest& request, std::int64_t* bytes) {
  nlohmann::json data = nlohmann::json::array();
  *bytes = 0;
  for (std::int64_t i = 1; i <= std::min(kResultRows, request.row_limit); ++i) {
    // JSON_ARRAY results carry every value as a string, as Databricks does.
    nlohmann::json row = {std::to_string(i), "row-" + std::to_string(i)};
    const auto size = static_cast<std::int64_t>(row.dump().size());
    if (request.byte_limit && *bytes + size > *request.byte_limit) break;
    *bytes += size;
    data.push_back(std::move(row));
  }
  return data;
}

nlohmann::json SucceededStatement(const std::string& id, const StatementRequest& request,
                                  WorkspaceState& state) {
  std::int64_t bytes = 0;
  nlohmann::json data = ResultRows(request, &bytes);
  const auto rows = static_cast<std::int64_t>(data.size());
  const nlohmann::json columns = {
      {{"name", "id"}, {"type_text", "INT"}, {"type_name", "INT"}, {"position", 0}},
      {{"name", "name"}, {"type_text", "STRING"}, {"type_name", "STRING"}, {"position", 1}}};
  nlohmann::json chunk = {{"chunk_index", 0}, {"row_offset", 0}, {"row_count", rows}};
  nlohmann::json result = chunk;
  if (request.disposition == "EXTERNAL_LINKS") {
    const std::string key = id + "/0";
    result = {{"external_links",
               {{{"chunk_index", 0},
                 {"row_offset", 0},
                 {"row_count", rows},
                 {"byte_count", bytes},
                 {"external_link", state.base_url + "/fake-storage/" + key + "?sig=fake"},
                 {"expiration", kLinkExpiration}}}}};
    state.external_results.Put(key, std::move(data));
  } else {
    result["data_array"] = std::move(data);
  }
  return {{"statement_id", id},
          {"status", {{"state", "SUCCEEDED"}}},
          {"manifest",
           {{"format", request.format},
            {"schema", {{"column_count", 2}, {"columns", columns}}},
            {"total_chunk_count", 1},
            {"chunks", {chunk}},
            {"total_row_count", rows},
            {"total_byte_count", bytes},
            {"truncated", rows < kResultRows}}},
          {"result", std::move(result)}};
}

nlohmann::json WarehouseJson(std::string_view id, std::string_view name) {
  return {{"id", id},
          {"name", name},
          {"cluster_size", "Small"},
          {"warehouse_type", "PRO"},
          {"enable_serverless_compute", true},
          {"auto_stop_mins", 10},
          {"state", "RUNNING"}};
}

}  // namespace

void SeedWarehouses(WorkspaceState& state) {
  for (const auto& [id, name] :
       {std::pair{"wh-1", "shared"}, std::pair{"wh-2", "reporting"}, std::pair{"wh-3", "adhoc"}}) {
    state.warehouses[id] = WarehouseJson(id, name);
  }
}

FakeReply HandleWarehousesList(const ApiContext& /*context*/, WorkspaceState& state) {
  nlohmann::json warehouses = nlohmann::json::array();
  for (const auto& [id, warehouse] : state.warehouses)
    warehouses.push_back(warehouse);
  return JsonReply(200, {{"warehouses", std::move(warehouses)}});
}

FakeReply HandleWarehouseGet(const ApiContext& context, WorkspaceState& state) {
  const auto warehouse = state.warehouses.find(std::string(context.path_suffix));
  if (warehouse == state.warehouses.end()) {
    return ApiError(404, "RESOURCE_DOES_NOT_EXIST",
                    "Warehouse " + std::string(context.path_suffix) + " does not exist.");
  }
  return JsonReply(200, warehouse->second);
}

FakeReply HandleStatementSubmit(const ApiContext& context, WorkspaceState& state) {
  auto parsed = ParseJsonBody(context.request);
  if (auto* error = std::get_if<FakeReply>(&parsed)) return std::move(*error);
  auto checked = ParseStatementRequest(std::get<nlohmann::json>(parsed), state);
  if (auto* error = std::get_if<FakeReply>(&checked)) return std::move(*error);
  const StatementRequest& request = std::get<StatementRequest>(checked);
  if (context.access == Access::kReadOnlyQueries && !IsReadOnlyStatement(request.statement)) {
    return ApiError(403, "PERMISSION_DENIED",
                    "Provided OAuth token only allows read-only queries (sql:restricted-query)");
  }
  const std::string id = NewUuid();
  nlohmann::json result = request.statement.find("FAIL") != std::string::npos
                              ? FailedStatement(id)
                              : SucceededStatement(id, request, state);
  state.statements.Put(id, result);
  return JsonReply(200, result);
}

FakeReply HandleStatementGet(const ApiContext& context, WorkspaceState& state) {
  const nlohmann::json* statement = state.statements.Find(std::string(context.path_suffix));
  if (statement == nullptr) {
    return ApiError(404, "RESOURCE_DOES_NOT_EXIST",
                    "The statement " + std::string(context.path_suffix) + " was not found.");
  }
  return JsonReply(200, *statement);
}

// Pre-signed URLs carry their credential in the query; S3 refuses a second one in a header.
FakeReply HandleExternalResult(const FakeRequest& request, WorkspaceState& state) {
  if (request.Header("Authorization")) {
    return JsonReply(400, {{"error", "InvalidArgument"},
                           {"message", "Only one auth mechanism allowed"}});
  }
  const std::string key = request.path.substr(std::string_view("/fake-storage/").size());
  const nlohmann::json* rows = state.external_results.Find(key);
  if (request.method != "GET" || rows == nullptr) {
    return JsonReply(404, {{"error", "NoSuchKey"}, {"message", "The key does not exist"}});
  }
  return JsonReply(200, *rows);
}

}  // namespace dbproxy::fake
