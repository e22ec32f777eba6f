#include "common/core/json_fields.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dbproxy {
namespace {

const JsonContext kBody{.code = Errc::kInvalidRequest, .where = "request body"};

struct BodyCase {
  const char* text;
  bool ok;
};

TEST(JsonFieldsTest, ParseJsonBodyAcceptsOneObjectOnly) {
  const BodyCase cases[] = {
      {"", true},
      {"{}", true},
      {R"({"scope":"sql","workspace":"prod"})", true},
      {R"({"a":{"b":1},"c":{"b":2}})", true},  // the same key in sibling objects
      {R"( {"a":[{"k":1},{"k":2}]} )", true},
      {"[]", false},
      {"\"text\"", false},
      {"null", false},
      {"{", false},
      {R"({"a":1} {"a":2})", false},
      {R"({"a":1}x)", false},
  };
  for (const BodyCase& c : cases) {
    Result<nlohmann::json> parsed = ParseJsonBody(c.text, kBody);
    EXPECT_EQ(parsed.has_value(), c.ok) << c.text;
    if (parsed) {
      EXPECT_TRUE(parsed->is_object()) << c.text;
    } else {
      EXPECT_EQ(parsed.error().code, Errc::kInvalidRequest) << c.text;
    }
  }
}

TEST(JsonFieldsTest, ParseJsonBodyRefusesRepeatedKeysAtAnyDepth) {
  for (const char* text : {
           R"({"scope":"a","scope":"b"})",
           R"({"scope":"a","scope":"a"})",
           R"({"workspace":"prod","min_ttl_seconds":60,"workspace":"dev"})",
           R"({"outer":{"k":1,"k":2}})",
           R"({"list":[{"id":1,"id":2}]})",
           "{\"sc\\u006fpe\":\"a\",\"scope\":\"b\"}",  // the same key, spelt with an escape
       }) {
    Result<nlohmann::json> parsed = ParseJsonBody(text, kBody);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, Errc::kInvalidRequest) << text;
    EXPECT_EQ(parsed.error().message.rfind("request body: ", 0), 0u) << parsed.error().message;
    EXPECT_NE(parsed.error().message.find("more than once"), std::string::npos)
        << parsed.error().message;
  }
}

TEST(JsonFieldsTest, ParseJsonBodyErrorsCarryTheCallersCode) {
  const JsonContext file{.code = Errc::kCorrupt, .where = "grants.json"};
  Result<nlohmann::json> parsed = ParseJsonBody(R"({"a":1,"a":2})", file);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code, Errc::kCorrupt);
  EXPECT_EQ(parsed.error().message, "grants.json: key 'a' appears more than once in an object");
  // A key that is long or not printable is not echoed.
  const std::string long_key(100, 'k');
  parsed = ParseJsonBody("{\"" + long_key + "\":1,\"" + long_key + "\":2}", kBody);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().message, "request body: a key appears more than once in an object");
}

}  // namespace
}  // namespace dbproxy
