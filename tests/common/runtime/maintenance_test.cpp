#include "common/runtime/maintenance.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace dbproxy {
namespace {

MaintenanceEntry Entry(MaintenanceScope scope, std::string target, std::int64_t until = 0) {
  return MaintenanceEntry{.scope = scope,
                          .target = std::move(target),
                          .reason = "db migration",
                          .set_by = "alice",
                          .since = 1000,
                          .until = until};
}

// Which entry Find returns, as "scope:target", or "-" for none.
std::string Found(const MaintenanceSet& set, std::string_view service, std::string_view workspace,
                  std::int64_t now) {
  const std::optional<MaintenanceEntry> entry = set.Find(service, workspace, now);
  if (!entry) return "-";
  return std::string(ScopeName(entry->scope)) + ":" + entry->target;
}

TEST(MaintenanceTest, ScopeNamesRoundTrip) {
  for (MaintenanceScope scope :
       {MaintenanceScope::kGlobal, MaintenanceScope::kService, MaintenanceScope::kWorkspace}) {
    EXPECT_EQ(ParseScope(ScopeName(scope)), scope);
  }
  EXPECT_EQ(ParseScope("Global"), std::nullopt);
  EXPECT_EQ(ParseScope(""), std::nullopt);
}

TEST(MaintenanceTest, FindPrefersGlobalThenServiceThenWorkspace) {
  MaintenanceSet set;
  ASSERT_TRUE(set.Set(Entry(MaintenanceScope::kWorkspace, "prod")).ok());
  ASSERT_TRUE(set.Set(Entry(MaintenanceScope::kService, "billing")).ok());
  EXPECT_EQ(Found(set, "billing", "prod", 1000), "service:billing");
  EXPECT_EQ(Found(set, "other", "prod", 1000), "workspace:prod");
  EXPECT_EQ(Found(set, "other", "dev", 1000), "-");
  EXPECT_EQ(Found(set, "billing", "dev", 1000), "service:billing");
  ASSERT_TRUE(set.Set(Entry(MaintenanceScope::kGlobal, "")).ok());
  EXPECT_EQ(Found(set, "billing", "prod", 1000), "global:");
  EXPECT_EQ(Found(set, "", "", 1000), "global:");
}

TEST(MaintenanceTest, EmptyNamesMatchNothingButGlobal) {
  MaintenanceSet set;
  ASSERT_TRUE(set.Set(Entry(MaintenanceScope::kService, "svc")).ok());
  EXPECT_EQ(Found(set, "", "svc", 1000), "-");
}

TEST(MaintenanceTest, ExpiredEntriesNeverMatchFromTheExactSecond) {
  MaintenanceSet set;
  ASSERT_TRUE(set.Set(Entry(MaintenanceScope::kGlobal, "", 1100)).ok());
  ASSERT_TRUE(set.Set(Entry(MaintenanceScope::kService, "svc", 1200)).ok());
  EXPECT_EQ(Found(set, "svc", "prod", 1099), "global:");
  EXPECT_EQ(Found(set, "svc", "prod", 1100), "service:svc");
  EXPECT_EQ(Found(set, "svc", "prod", 1199), "service:svc");
  EXPECT_EQ(Found(set, "svc", "prod", 1200), "-");
  EXPECT_EQ(set.entries().size(), 2u);
  EXPECT_TRUE(set.PruneExpired(1100));
  EXPECT_EQ(set.entries().size(), 1u);
  EXPECT_FALSE(set.PruneExpired(1100));
}

TEST(MaintenanceTest, SetReplacesSameScopeAndTarget) {
  MaintenanceSet set;
  ASSERT_TRUE(set.Set(Entry(MaintenanceScope::kService, "svc")).ok());
  MaintenanceEntry later = Entry(MaintenanceScope::kService, "svc", 5000);
  later.reason = "longer";
  ASSERT_TRUE(set.Set(later).ok());
  ASSERT_TRUE(set.Set(Entry(MaintenanceScope::kWorkspace, "svc")).ok());
  ASSERT_EQ(set.entries().size(), 2u);
  EXPECT_EQ(set.entries()[0], later);
}

TEST(MaintenanceTest, ClearReturnsTheEntryOrNotFound) {
  MaintenanceSet set;
  ASSERT_TRUE(set.Set(Entry(MaintenanceScope::kGlobal, "")).ok());
  const Result<MaintenanceEntry> missing = set.Clear(MaintenanceScope::kWorkspace, "prod");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
  EXPECT_NE(missing.error().message.find("workspace 'prod'"), std::string::npos);
  const Result<MaintenanceEntry> cleared = set.Clear(MaintenanceScope::kGlobal, "ignored");
  ASSERT_TRUE(cleared.has_value());
  EXPECT_EQ(cleared->scope, MaintenanceScope::kGlobal);
  EXPECT_TRUE(set.entries().empty());
}

struct InvalidEntryCase {
  const char* label;
  MaintenanceEntry entry;
  const char* why;
};

void PrintTo(const InvalidEntryCase& c, std::ostream* os) { *os << c.label; }

class MaintenanceValidationTest : public ::testing::TestWithParam<InvalidEntryCase> {};

TEST_P(MaintenanceValidationTest, SetRefuses) {
  MaintenanceSet set;
  const Status status = set.Set(GetParam().entry);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, Errc::kInvalidRequest);
  EXPECT_NE(status.error().message.find(GetParam().why), std::string::npos)
      << status.error().message;
  EXPECT_TRUE(set.entries().empty());
}

MaintenanceEntry Edited(void (*edit)(MaintenanceEntry&)) {
  MaintenanceEntry entry = Entry(MaintenanceScope::kService, "svc", 2000);
  edit(entry);
  return entry;
}

INSTANTIATE_TEST_SUITE_P(
    Fields, MaintenanceValidationTest,
    ::testing::Values(
        InvalidEntryCase{"global with target",
                         Edited([](MaintenanceEntry& e) { e.scope = MaintenanceScope::kGlobal; }),
                         "no target"},
        InvalidEntryCase{"service without target",
                         Edited([](MaintenanceEntry& e) { e.target = ""; }), "service name"},
        InvalidEntryCase{"workspace bad name", Edited([](MaintenanceEntry& e) {
                           e.scope = MaintenanceScope::kWorkspace;
                           e.target = "a b";
                         }),
                         "workspace name"},
        InvalidEntryCase{"long reason",
                         Edited([](MaintenanceEntry& e) { e.reason = std::string(513, 'r'); }),
                         "reason"},
        InvalidEntryCase{"no set_by", Edited([](MaintenanceEntry& e) { e.set_by = ""; }),
                         "set_by"},
        InvalidEntryCase{"until not after since",
                         Edited([](MaintenanceEntry& e) { e.until = e.since; }), "until"}));

TEST(MaintenanceTest, ErrorCarriesReasonScopeAndRetryAfter) {
  const Error timed = MaintenanceError(Entry(MaintenanceScope::kService, "svc", 1090), 1000);
  EXPECT_EQ(timed.code, Errc::kMaintenance);
  EXPECT_NE(timed.message.find("db migration"), std::string::npos) << timed.message;
  EXPECT_NE(timed.message.find("service 'svc'"), std::string::npos) << timed.message;
  EXPECT_NE(timed.message.find("1m30s"), std::string::npos) << timed.message;
  EXPECT_EQ(timed.retry_after_seconds, 90);
  EXPECT_EQ(timed.rule, "maintenance:service:svc");

  const Error open_ended = MaintenanceError(Entry(MaintenanceScope::kGlobal, ""), 1000);
  EXPECT_EQ(open_ended.retry_after_seconds, kMaintenanceRetryAfterSeconds);
  EXPECT_EQ(open_ended.rule, "maintenance:global");
}

TEST(MaintenanceTest, JsonHasNullTargetForGlobalAndNullUntilWhenNone) {
  const nlohmann::json j = MaintenanceEntryToJson(Entry(MaintenanceScope::kGlobal, ""));
  EXPECT_EQ(j["scope"], "global");
  EXPECT_TRUE(j["target"].is_null());
  EXPECT_TRUE(j["until"].is_null());
  EXPECT_EQ(j["since"], 1000);
  EXPECT_EQ(j.size(), 6u);
}

}  // namespace
}  // namespace dbproxy
