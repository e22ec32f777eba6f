#include "tests/fake_workspace/sql_api.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "tests/fake_workspace/encoding.hpp"

namespace dbproxy::fake {
namespace {

constexpr std::int64_t kResultRows = 10;

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

nlohmann::json FailedStatement(const std::string& id) {
  return {{"statement_id", id},
          {"status",
           {{"state", "FAILED"},
            {"error",
             {{"error_code", "BAD_REQUEST"},
              {"message", "[FAKE_FAILURE] The statement asked the fake workspace to fail."}}}}}};
}

nlohmann::json SucceededStatement(const std::string& id, std::int64_t row_limit) {
  const std::int64_t rows = std::min(kResultRows, row_limit);
  nlohmann::json data = nlohmann::json::array();
  for (std::int64_t i = 1; i <= rows; ++i) {
    // JSON_ARRAY results carry every value as a string, as Databricks does.
    data.push_back({std::to_string(i), "row-" + std::to_string(i)});
  }
  const nlohmann::json columns = {
      {{"name", "id"}, {"type_text", "INT"}, {"type_name", "INT"}, {"position", 0}},
      {{"name", "name"}, {"type_text", "STRING"}, {"type_name", "STRING"}, {"position", 1}}};
  return {{"statement_id", id},
          {"status", {{"state", "SUCCEEDED"}}},
          {"manifest",
           {{"format", "JSON_ARRAY"},
            {"schema", {{"column_count", 2}, {"columns", columns}}},
            {"total_chunk_count", 1},
            {"chunks", {{{"chunk_index", 0}, {"row_offset", 0}, {"row_count", rows}}}},
            {"total_row_count", rows},
            {"truncated", rows < kResultRows}}},
          {"result",
           {{"chunk_index", 0},
            {"row_offset", 0},
            {"row_count", rows},
            {"data_array", std::move(data)}}}};
}

}  // namespace

FakeReply HandleStatementSubmit(const ApiContext& context, WorkspaceState& state) {
  auto parsed = ParseJsonBody(context.request);
  if (auto* error = std::get_if<FakeReply>(&parsed)) return std::move(*error);
  const auto& body = std::get<nlohmann::json>(parsed);
  if (!body.contains("statement") || !body["statement"].is_string() ||
      body["statement"].get_ref<const std::string&>().empty()) {
    return InvalidParameter("statement is required");
  }
  if (!body.contains("warehouse_id") || !body["warehouse_id"].is_string() ||
      body["warehouse_id"].get_ref<const std::string&>().empty()) {
    return InvalidParameter("warehouse_id is required");
  }
  std::int64_t row_limit = kResultRows;
  if (body.contains("row_limit")) {
    if (!body["row_limit"].is_number_integer() || body["row_limit"].get<std::int64_t>() < 0) {
      return InvalidParameter("row_limit must be a non-negative integer");
    }
    row_limit = body["row_limit"].get<std::int64_t>();
  }
  const auto& statement = body["statement"].get_ref<const std::string&>();
  if (context.access == Access::kReadOnlyQueries && !IsReadOnlyStatement(statement)) {
    return ApiError(403, "PERMISSION_DENIED",
                    "Provided OAuth token only allows read-only queries (sql:restricted-query)");
  }
  const std::string id = NewUuid();
  nlohmann::json result = statement.find("FAIL") != std::string::npos
                              ? FailedStatement(id)
                              : SucceededStatement(id, row_limit);
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

}  // namespace dbproxy::fake
