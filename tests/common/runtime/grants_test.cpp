#include "common/runtime/grants.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace dbproxy {
namespace {

Grant MakeGrant(std::string service, std::string role, std::int64_t expires_at = 0) {
  return Grant{.service = std::move(service),
               .role = std::move(role),
               .reason = "INC-42",
               .granted_by = "alice",
               .granted_at = 1000,
               .expires_at = expires_at};
}

TEST(GrantSetTest, AddReplacesSameServiceAndRole) {
  GrantSet set;
  ASSERT_TRUE(set.Add(MakeGrant("billing-etl", "etl")).ok());
  Grant again = MakeGrant("billing-etl", "etl", 2000);
  again.reason = "extended";
  ASSERT_TRUE(set.Add(again).ok());
  ASSERT_EQ(set.grants().size(), 1u);
  EXPECT_EQ(set.grants()[0], again);
}

TEST(GrantSetTest, KeepsGrantsSortedByServiceThenRole) {
  GrantSet set;
  ASSERT_TRUE(set.Add(MakeGrant("b", "z")).ok());
  ASSERT_TRUE(set.Add(MakeGrant("a", "y")).ok());
  ASSERT_TRUE(set.Add(MakeGrant("b", "a")).ok());
  ASSERT_EQ(set.grants().size(), 3u);
  EXPECT_EQ(set.grants()[0].service + "/" + set.grants()[0].role, "a/y");
  EXPECT_EQ(set.grants()[1].service + "/" + set.grants()[1].role, "b/a");
  EXPECT_EQ(set.grants()[2].service + "/" + set.grants()[2].role, "b/z");
}

TEST(GrantSetTest, RemoveReturnsTheGrantOrNotFound) {
  GrantSet set;
  ASSERT_TRUE(set.Add(MakeGrant("svc", "etl")).ok());
  const Result<Grant> missing = set.Remove("svc", "other");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
  EXPECT_NE(missing.error().message.find("'other'"), std::string::npos);
  const Result<Grant> removed = set.Remove("svc", "etl");
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(removed->role, "etl");
  EXPECT_TRUE(set.grants().empty());
}

TEST(GrantSetTest, ActiveRolesLapseAtTheExactSecond) {
  GrantSet set;
  ASSERT_TRUE(set.Add(MakeGrant("svc", "temp", 1100)).ok());
  ASSERT_TRUE(set.Add(MakeGrant("svc", "always")).ok());
  ASSERT_TRUE(set.Add(MakeGrant("other", "etl")).ok());
  EXPECT_EQ(set.ActiveRoles("svc", 1099), (std::vector<std::string>{"always", "temp"}));
  EXPECT_EQ(set.ActiveRoles("svc", 1100), (std::vector<std::string>{"always"}));
  EXPECT_EQ(set.ActiveRoles("nobody", 0), std::vector<std::string>{});
}

TEST(GrantSetTest, PruneDropsOnlyExpired) {
  GrantSet set;
  ASSERT_TRUE(set.Add(MakeGrant("svc", "temp", 1100)).ok());
  ASSERT_TRUE(set.Add(MakeGrant("svc", "always")).ok());
  EXPECT_FALSE(set.PruneExpired(1099));
  EXPECT_TRUE(set.PruneExpired(1100));
  ASSERT_EQ(set.grants().size(), 1u);
  EXPECT_EQ(set.grants()[0].role, "always");
  EXPECT_FALSE(set.PruneExpired(1 << 30));
}

struct InvalidGrantCase {
  const char* label;
  Grant grant;
  const char* why;
};

void PrintTo(const InvalidGrantCase& c, std::ostream* os) { *os << c.label; }

class GrantValidationTest : public ::testing::TestWithParam<InvalidGrantCase> {};

TEST_P(GrantValidationTest, AddRefuses) {
  GrantSet set;
  const Status added = set.Add(GetParam().grant);
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code, Errc::kInvalidRequest);
  EXPECT_NE(added.error().message.find(GetParam().why), std::string::npos)
      << added.error().message;
  EXPECT_TRUE(set.grants().empty());
}

Grant With(void (*edit)(Grant&)) {
  Grant grant = MakeGrant("svc", "etl", 2000);
  edit(grant);
  return grant;
}

INSTANTIATE_TEST_SUITE_P(
    Fields, GrantValidationTest,
    ::testing::Values(
        InvalidGrantCase{"empty service", With([](Grant& g) { g.service = ""; }), "service"},
        InvalidGrantCase{"slash in role", With([](Grant& g) { g.role = "a/b"; }), "role"},
        InvalidGrantCase{"dotdot role", With([](Grant& g) { g.role = ".."; }), "role"},
        InvalidGrantCase{"long reason", With([](Grant& g) { g.reason = std::string(513, 'x'); }),
                         "reason"},
        InvalidGrantCase{"newline in reason", With([](Grant& g) { g.reason = "a\nb"; }),
                         "reason"},
        InvalidGrantCase{"no granted_by", With([](Grant& g) { g.granted_by = ""; }),
                         "granted_by"},
        InvalidGrantCase{"negative time", With([](Grant& g) { g.granted_at = -1; }),
                         "granted_at"},
        InvalidGrantCase{"expires before granted", With([](Grant& g) { g.expires_at = 1000; }),
                         "expires_at"}));

TEST(GrantSetTest, ReasonOfExactly512BytesIsAccepted) {
  GrantSet set;
  Grant grant = MakeGrant("svc", "etl");
  grant.reason = std::string(512, 'x');
  EXPECT_TRUE(set.Add(grant).ok());
}

}  // namespace
}  // namespace dbproxy
