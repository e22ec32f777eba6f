// grants.json: serialisation round trip and the strict parser's refusals.
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/runtime/grants.hpp"

namespace dbproxy {
namespace {

TEST(GrantsFormatTest, SerializeParseRoundTrip) {
  GrantSet set;
  ASSERT_TRUE(set.Add({.service = "billing-etl", .role = "etl", .reason = "INC-42 \"quoted\" é",
                       .granted_by = "alice", .granted_at = 1000, .expires_at = 1100})
                  .ok());
  ASSERT_TRUE(set.Add({.service = "api", .role = "reader", .reason = "", .granted_by = "uid:0",
                       .granted_at = 5, .expires_at = 0})
                  .ok());
  const std::string text = set.Serialize();
  EXPECT_EQ(text.back(), '\n');
  const Result<GrantSet> parsed = GrantSet::Parse(text);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->grants(), set.grants());
  EXPECT_EQ(parsed->Serialize(), text);
}

TEST(GrantsFormatTest, EmptySetSerializesToEmptyList) {
  EXPECT_EQ(GrantSet().Serialize(), "{\"grants\":[],\"version\":1}\n");
  const Result<GrantSet> parsed = GrantSet::Parse("{\"version\":1,\"grants\":[]}");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(parsed->grants().empty());
}

TEST(GrantsFormatTest, JsonHasNullExpiryWhenNone) {
  const nlohmann::json j = GrantToJson({.service = "s", .role = "r", .reason = "x",
                                        .granted_by = "bob", .granted_at = 7, .expires_at = 0});
  EXPECT_TRUE(j["expires_at"].is_null());
  EXPECT_EQ(j["granted_at"], 7);
  EXPECT_EQ(j["granted_by"], "bob");
  EXPECT_EQ(j.size(), 6u);
}

struct CorruptCase {
  const char* label;
  std::string json;
  const char* why;
};

void PrintTo(const CorruptCase& c, std::ostream* os) { *os << c.label; }

class GrantsCorruptTest : public ::testing::TestWithParam<CorruptCase> {};

TEST_P(GrantsCorruptTest, ParseRefuses) {
  const Result<GrantSet> parsed = GrantSet::Parse(GetParam().json);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code, Errc::kCorrupt);
  EXPECT_NE(parsed.error().message.find(GetParam().why), std::string::npos)
      << parsed.error().message;
}

// One valid grant with `field` replaced by `value` (raw JSON), or removed when value is empty.
std::string GrantDoc(const std::string& field, const std::string& value) {
  nlohmann::json grant = {{"service", "svc"},  {"role", "etl"},       {"reason", ""},
                          {"granted_by", "al"}, {"granted_at", 1000}, {"expires_at", nullptr}};
  if (value.empty()) {
    grant.erase(field);
  } else {
    grant[field] = nlohmann::json::parse(value);
  }
  return nlohmann::json{{"version", 1}, {"grants", {grant}}}.dump();
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, GrantsCorruptTest,
    ::testing::Values(
        CorruptCase{"not json", "{", "not valid JSON"},
        CorruptCase{"empty", "", "not valid JSON"},
        CorruptCase{"array", "[]", "expected a JSON object"},
        CorruptCase{"no version", R"({"grants":[]})", "'version' is missing"},
        CorruptCase{"version 2", R"({"version":2,"grants":[]})", "unsupported version 2"},
        CorruptCase{"string version", R"({"version":"1","grants":[]})", "'version' must be"},
        CorruptCase{"unknown top key", R"({"version":1,"grants":[],"x":1})", "unknown field 'x'"},
        CorruptCase{"grants not array", R"({"version":1,"grants":{}})", "must be an array"},
        CorruptCase{"no grants", R"({"version":1})", "must be an array"},
        CorruptCase{"grant not object", R"({"version":1,"grants":[1]})", "grant 1"},
        CorruptCase{"unknown grant key", GrantDoc("extra", "1"), "grant 1: unknown field 'extra'"},
        CorruptCase{"missing role", GrantDoc("role", ""), "'role' is missing"},
        CorruptCase{"missing expires", GrantDoc("expires_at", ""), "'expires_at' is missing"},
        CorruptCase{"numeric service", GrantDoc("service", "5"), "'service' must be a string"},
        CorruptCase{"bad name", GrantDoc("service", "\"a b\""), "service must match"},
        CorruptCase{"long reason", GrantDoc("reason", '"' + std::string(513, 'x') + '"'),
                    "longer than 512"},
        CorruptCase{"float time", GrantDoc("granted_at", "1.5"), "non-negative integer"},
        CorruptCase{"bool time", GrantDoc("granted_at", "true"), "non-negative integer"},
        CorruptCase{"negative time", GrantDoc("granted_at", "-1"), "non-negative integer"},
        CorruptCase{"huge time", GrantDoc("granted_at", "18446744073709551615"),
                    "non-negative integer"},
        CorruptCase{"zero expiry", GrantDoc("expires_at", "0"), "null when there is none"},
        CorruptCase{"expiry before grant", GrantDoc("expires_at", "999"), "later than"},
        CorruptCase{"duplicate",
                    R"({"version":1,"grants":[)"
                    R"({"service":"s","role":"r","reason":"","granted_by":"a","granted_at":1,"expires_at":null},)"
                    R"({"service":"s","role":"r","reason":"","granted_by":"b","granted_at":2,"expires_at":null}]})",
                    "grant 2: duplicate"}));

}  // namespace
}  // namespace dbproxy
