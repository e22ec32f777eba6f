// maintenance.json: serialisation round trip and the strict parser's refusals.
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/runtime/maintenance.hpp"

namespace dbproxy {
namespace {

TEST(MaintenanceFormatTest, SerializeParseRoundTrip) {
  MaintenanceSet set;
  ASSERT_TRUE(set.Set({.scope = MaintenanceScope::kGlobal, .target = "", .reason = "",
                       .set_by = "uid:0", .since = 10, .until = 0})
                  .ok());
  ASSERT_TRUE(set.Set({.scope = MaintenanceScope::kWorkspace, .target = "prod",
                       .reason = "upgrade \"x\"", .set_by = "alice", .since = 10, .until = 20})
                  .ok());
  ASSERT_TRUE(set.Set({.scope = MaintenanceScope::kService, .target = "billing-etl",
                       .reason = "r", .set_by = "bob", .since = 3, .until = 0})
                  .ok());
  const std::string text = set.Serialize();
  const Result<MaintenanceSet> parsed = MaintenanceSet::Parse(text);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->entries(), set.entries());
  EXPECT_EQ(parsed->Serialize(), text);
}

struct CorruptMaintenanceCase {
  const char* label;
  std::string json;
  const char* why;
};

void PrintTo(const CorruptMaintenanceCase& c, std::ostream* os) { *os << c.label; }

class MaintenanceCorruptTest : public ::testing::TestWithParam<CorruptMaintenanceCase> {};

TEST_P(MaintenanceCorruptTest, ParseRefuses) {
  const Result<MaintenanceSet> parsed = MaintenanceSet::Parse(GetParam().json);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code, Errc::kCorrupt);
  EXPECT_NE(parsed.error().message.find(GetParam().why), std::string::npos)
      << parsed.error().message;
}

// One valid service entry with `field` replaced by `value` (raw JSON), or removed when empty.
std::string EntryDoc(const std::string& field, const std::string& value) {
  nlohmann::json entry = {{"scope", "service"}, {"target", "svc"}, {"reason", ""},
                          {"set_by", "al"},     {"since", 1000},   {"until", nullptr}};
  if (value.empty()) {
    entry.erase(field);
  } else {
    entry[field] = nlohmann::json::parse(value);
  }
  return nlohmann::json{{"version", 1}, {"maintenance", {entry}}}.dump();
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, MaintenanceCorruptTest,
    ::testing::Values(
        CorruptMaintenanceCase{"not json", "nope", "not valid JSON"},
        CorruptMaintenanceCase{"version 0", R"({"version":0,"maintenance":[]})", "unsupported version 0"},
        CorruptMaintenanceCase{"unknown top key", R"({"version":1,"maintenance":[],"grants":[]})",
                    "unknown field 'grants'"},
        CorruptMaintenanceCase{"list not array", R"({"version":1,"maintenance":null})", "must be an array"},
        CorruptMaintenanceCase{"unknown scope", EntryDoc("scope", "\"host\""), "entry 1: unknown 'scope'"},
        CorruptMaintenanceCase{"global with target",
                    R"({"version":1,"maintenance":[{"scope":"global","target":"x",)"
                    R"("reason":"","set_by":"a","since":1,"until":null}]})",
                    "'target' must be null"},
        CorruptMaintenanceCase{"global without target",
                    R"({"version":1,"maintenance":[{"scope":"global",)"
                    R"("reason":"","set_by":"a","since":1,"until":null}]})",
                    "'target' must be null"},
        CorruptMaintenanceCase{"null service target", EntryDoc("target", "null"), "must be a string"},
        CorruptMaintenanceCase{"bad target", EntryDoc("target", "\"../x\""), "service name must match"},
        CorruptMaintenanceCase{"unknown key", EntryDoc("note", "\"x\""), "unknown field 'note'"},
        CorruptMaintenanceCase{"missing set_by", EntryDoc("set_by", ""), "'set_by' is missing"},
        CorruptMaintenanceCase{"string since", EntryDoc("since", "\"1\""), "non-negative integer"},
        CorruptMaintenanceCase{"zero until", EntryDoc("until", "0"), "null when there is none"},
        CorruptMaintenanceCase{"until before since", EntryDoc("until", "5"), "later than since"},
        CorruptMaintenanceCase{"control char in reason", EntryDoc("reason", "\"a\\u0007b\""), "reason"},
        CorruptMaintenanceCase{"duplicate",
                    R"({"version":1,"maintenance":[)"
                    R"({"scope":"global","target":null,"reason":"","set_by":"a","since":1,"until":null},)"
                    R"({"scope":"global","target":null,"reason":"x","set_by":"a","since":2,"until":null}]})",
                    "entry 2: duplicate"}));

}  // namespace
}  // namespace dbproxy
