#include "common/runtime/runtime_api.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/core/duration.hpp"

namespace dbproxy {
namespace {

struct BadBodyCase {
  const char* label;
  std::string body;
  const char* why;
};

void PrintTo(const BadBodyCase& c, std::ostream* os) { *os << c.label; }

class GrantRequestRefusalTest : public ::testing::TestWithParam<BadBodyCase> {};

TEST_P(GrantRequestRefusalTest, Refuses) {
  const Result<GrantRequest> parsed = ParseGrantRequest(GetParam().body);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code, Errc::kInvalidRequest);
  EXPECT_NE(parsed.error().message.find(GetParam().why), std::string::npos)
      << parsed.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, GrantRequestRefusalTest,
    ::testing::Values(
        BadBodyCase{"empty", "", "expected a JSON object"},
        BadBodyCase{"array", "[]", "expected a JSON object"},
        BadBodyCase{"no role", R"({"service":"s"})", "'role' is missing"},
        BadBodyCase{"repeated key", R"({"service":"s","role":"r","role":"admin"})",
                    "key 'role' appears more than once"},
        BadBodyCase{"bad service", R"({"service":"a/b","role":"r"})", "service must match"},
        BadBodyCase{"unknown field", R"({"service":"s","role":"r","for":"2h"})",
                    "unknown field 'for'"},
        BadBodyCase{"string duration", R"({"service":"s","role":"r","for_seconds":"60"})",
                    "non-negative integer"},
        BadBodyCase{"zero duration", R"({"service":"s","role":"r","for_seconds":0})",
                    "between 1 and"},
        BadBodyCase{"too long", R"({"service":"s","role":"r","for_seconds":31622401})",
                    "between 1 and"},
        BadBodyCase{"reason newline", R"({"service":"s","role":"r","reason":"a\nb"})",
                    "printable"},
        BadBodyCase{"reason number", R"({"service":"s","role":"r","reason":5})",
                    "'reason' must be a string"}));

TEST(GrantRequestTest, RoundTripsThroughJson) {
  const GrantRequest request{
      .service = "billing-etl", .role = "etl", .reason = "INC-7", .for_seconds = 7200};
  const Result<GrantRequest> parsed = ParseGrantRequest(GrantRequestToJson(request).dump());
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->service, "billing-etl");
  EXPECT_EQ(parsed->role, "etl");
  EXPECT_EQ(parsed->reason, "INC-7");
  EXPECT_EQ(parsed->for_seconds, 7200);
}

TEST(GrantRequestTest, OptionalFieldsAreOmittedWhenUnset) {
  const nlohmann::json body =
      GrantRequestToJson({.service = "s", .role = "r", .reason = "", .for_seconds = 0});
  EXPECT_EQ(body.dump(), R"({"role":"r","service":"s"})");
  const Result<GrantRequest> parsed = ParseGrantRequest(body.dump());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->for_seconds, 0);
  EXPECT_TRUE(parsed->reason.empty());
}

class MaintenanceRequestRefusalTest : public ::testing::TestWithParam<BadBodyCase> {};

TEST_P(MaintenanceRequestRefusalTest, Refuses) {
  const Result<MaintenanceRequest> parsed = ParseMaintenanceRequest(GetParam().body);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code, Errc::kInvalidRequest);
  EXPECT_NE(parsed.error().message.find(GetParam().why), std::string::npos)
      << parsed.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, MaintenanceRequestRefusalTest,
    ::testing::Values(
        BadBodyCase{"no scope", "{}", "'scope' is missing"},
        BadBodyCase{"unknown scope", R"({"scope":"host"})", "scope must be"},
        BadBodyCase{"global with target", R"({"scope":"global","target":"x"})", "no target"},
        BadBodyCase{"service without target", R"({"scope":"service"})", "target is required"},
        BadBodyCase{"null target", R"({"scope":"service","target":null})", "must be a string"},
        BadBodyCase{"bad target", R"({"scope":"workspace","target":".."})", "target must match"},
        BadBodyCase{"unknown field", R"({"scope":"global","until":5})", "unknown field 'until'"},
        BadBodyCase{"negative duration", R"({"scope":"global","for_seconds":-1})",
                    "non-negative integer"}));

TEST(MaintenanceRequestTest, RoundTripsThroughJson) {
  for (const MaintenanceRequest& request :
       {MaintenanceRequest{.scope = MaintenanceScope::kGlobal, .target = "", .reason = "",
                           .for_seconds = 0},
        MaintenanceRequest{.scope = MaintenanceScope::kService, .target = "billing-etl",
                           .reason = "migration", .for_seconds = 90},
        MaintenanceRequest{.scope = MaintenanceScope::kWorkspace, .target = "prod",
                           .reason = "", .for_seconds = kMaxDurationSeconds}}) {
    const std::string body = MaintenanceRequestToJson(request).dump();
    const Result<MaintenanceRequest> parsed = ParseMaintenanceRequest(body);
    ASSERT_TRUE(parsed.has_value()) << body << ": " << parsed.error().message;
    EXPECT_EQ(parsed->scope, request.scope) << body;
    EXPECT_EQ(parsed->target, request.target) << body;
    EXPECT_EQ(parsed->reason, request.reason) << body;
    EXPECT_EQ(parsed->for_seconds, request.for_seconds) << body;
  }
}

TEST(MaintenanceQueryTest, ParsesWhatItBuilds) {
  const MaintenanceKey service{.scope = MaintenanceScope::kService, .target = "billing-etl"};
  EXPECT_EQ(MaintenanceQuery(service), "scope=service&target=billing-etl");
  const Result<MaintenanceKey> parsed = ParseMaintenanceQuery(MaintenanceQuery(service));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->scope, MaintenanceScope::kService);
  EXPECT_EQ(parsed->target, "billing-etl");
  EXPECT_EQ(MaintenanceQuery({.scope = MaintenanceScope::kGlobal, .target = ""}), "scope=global");
  EXPECT_TRUE(ParseMaintenanceQuery("scope=global").has_value());
}

TEST(MaintenanceQueryTest, Refusals) {
  for (const char* query : {"", "target=x", "scope=global&target=x", "scope=service",
                            "scope=workspace&target=a%2Fb", "scope=global&force=1",
                            "scope=galactic"}) {
    const Result<MaintenanceKey> parsed = ParseMaintenanceQuery(query);
    EXPECT_FALSE(parsed.has_value()) << query;
    if (!parsed) {
      EXPECT_EQ(parsed.error().code, Errc::kInvalidRequest) << query;
    }
  }
}

}  // namespace
}  // namespace dbproxy
