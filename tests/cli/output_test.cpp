#include "cli/output.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace dbproxy::cli {
namespace {

using nlohmann::json;

TEST(OutputTest, TableAlignsColumnsWithoutTrailingBlanks) {
  const std::string table =
      FormatTable({"WORKSPACE", "HOST", "N"}, {{"prod", "https://a.example", "1"},
                                               {"dev-long-name", "h", "22"}});
  EXPECT_EQ(table,
            "WORKSPACE      HOST               N\n"
            "prod           https://a.example  1\n"
            "dev-long-name  h                  22\n");
}

TEST(OutputTest, TablePadsShortRowsAndDropsExtraCells) {
  EXPECT_EQ(FormatTable({"A", "B"}, {{"x"}, {"1", "2", "3"}}),
            "A  B\n"
            "x  \n"
            "1  2\n");
}

TEST(OutputTest, EmptyTableIsHeaderOnly) {
  EXPECT_EQ(FormatTable({"WORKSPACE", "HOST"}, {}), "WORKSPACE  HOST\n");
}

TEST(OutputTest, KeyValuesAlignAfterColon) {
  EXPECT_EQ(FormatKeyValues({{"uid", "1000"}, {"workspace", "prod"}}),
            "uid:       1000\n"
            "workspace: prod\n");
}

TEST(OutputTest, ErrorLineWithRule) {
  const json answer = json::parse(
      R"({"error":{"code":"policy_denied","message":"scope sql is not allowed",)"
      R"("rule":"etl","request_id":"r-1"}})");
  EXPECT_EQ(FormatErrorLine(answer),
            "dbproxyctl: scope sql is not allowed (policy_denied, rule etl)");
}

TEST(OutputTest, ErrorLineWithoutRule) {
  const json answer = json::parse(
      R"({"error":{"code":"not_found","message":"no workspace prod","retry_after_seconds":3}})");
  EXPECT_EQ(FormatErrorLine(answer), "dbproxyctl: no workspace prod (not_found)");
}

TEST(OutputTest, ErrorLineNeutralisesControlCharacters) {
  const json answer =
      json::parse(R"({"error":{"code":"x","message":"bad\u001b[31m\nline"}})");
  EXPECT_EQ(FormatErrorLine(answer), "dbproxyctl: bad?[31m?line (x)");
}

TEST(OutputTest, ErrorLineRejectsOtherShapes) {
  for (const char* text : {R"({})", R"([])", R"({"error":"boom"})", R"({"error":{"code":1}})",
                           R"({"error":{"code":"x"}})", R"("text")"}) {
    EXPECT_FALSE(FormatErrorLine(json::parse(text)).has_value()) << text;
  }
}

TEST(OutputTest, JsonCells) {
  EXPECT_EQ(JsonCell(json()), "-");
  EXPECT_EQ(JsonCell("text"), "text");
  EXPECT_EQ(JsonCell(""), "-");
  EXPECT_EQ(JsonCell(42), "42");
  EXPECT_EQ(JsonCell(true), "true");
  EXPECT_EQ(JsonCell(json::parse(R"(["etl","sql"])")), "etl,sql");
  EXPECT_EQ(JsonCell(json::parse(R"({"env":"prod","team":"data"})")), "env=prod, team=data");
  EXPECT_EQ(JsonCell(json::array()), "-");
  EXPECT_EQ(Field(json::parse(R"({"a":1})"), "b"), "-");
  EXPECT_EQ(Field(json::array(), "a"), "-");
}

TEST(OutputTest, Durations) {
  EXPECT_EQ(FormatDuration(-1), "expired");
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(59), "59s");
  EXPECT_EQ(FormatDuration(60), "1m00s");
  EXPECT_EQ(FormatDuration(3599), "59m59s");
  EXPECT_EQ(FormatDuration(3600 * 2 + 180), "2h03m");
  EXPECT_EQ(FormatDuration(86400 * 3 + 3600 * 4 + 5), "3d04h");
}

TEST(OutputTest, Timestamps) {
  EXPECT_EQ(FormatTimestamp(json(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(json(1700000000)), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatTimestamp(json("2024-05-01T12:00:00Z")), "2024-05-01T12:00:00Z");
  EXPECT_EQ(FormatTimestamp(json()), "-");
}

TEST(OutputTest, PrettyJsonEndsWithNewlineAndSurvivesBadUtf8) {
  EXPECT_EQ(PrettyJson(json::parse(R"({"a":1})")), "{\n  \"a\": 1\n}\n");
  EXPECT_NO_THROW(PrettyJson(json(std::string("\xff"))));
}

}  // namespace
}  // namespace dbproxy::cli
