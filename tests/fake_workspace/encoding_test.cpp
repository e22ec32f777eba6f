// Unit tests of the fake workspace's parsers of untrusted input.
#include "tests/fake_workspace/encoding.hpp"

#include <gtest/gtest.h>

#include "tests/fake_workspace/oauth/scopes.hpp"

namespace dbproxy::fake {
namespace {

TEST(FormParseTest, DecodesAndRejectsMalformedInput) {
  const struct {
    std::string_view input;
    bool ok;
    std::string_view key;
    std::string_view value;
  } kCases[] = {
      {"a=1", true, "a", "1"},
      {"scope=clusters%3Aread+sql", true, "scope", "clusters:read sql"},
      {"&&a=%2B%2f&", true, "a", "+/"},
      {"a", true, "a", ""},
      {"a=%", false, "", ""},
      {"a=%2", false, "", ""},
      {"a=%zz", false, "", ""},
      {"=1", false, "", ""},
      {"a=1&a=2", false, "", ""},
  };
  for (const auto& test : kCases) {
    const auto form = ParseForm(test.input);
    ASSERT_EQ(form.has_value(), test.ok) << test.input;
    if (test.ok) {
      EXPECT_EQ(form->at(std::string(test.key)), test.value) << test.input;
    }
  }
}

TEST(Base64Test, AcceptsOnlyCanonicalPaddedInput) {
  EXPECT_EQ(Base64Decode("c3ZjOnM="), "svc:s");
  EXPECT_EQ(Base64Decode(""), "");
  EXPECT_FALSE(Base64Decode("c3ZjOnM"));   // missing padding
  EXPECT_FALSE(Base64Decode("c3ZjOnN="));  // non-zero trailing bits
  EXPECT_FALSE(Base64Decode("c3Zj*nM="));  // bad character
  EXPECT_FALSE(Base64Decode("c3Zj=nM="));  // padding in the middle
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(Base64Test, UrlDecodeAcceptsOnlyCanonicalUnpaddedInput) {
  EXPECT_EQ(Base64UrlDecode("-_8"), "\xfb\xff");
  EXPECT_EQ(Base64UrlDecode("c3ZjOnM"), "svc:s");
  EXPECT_EQ(Base64UrlDecode(""), "");
  EXPECT_FALSE(Base64UrlDecode("c3ZjOnM="));  // padding
  EXPECT_FALSE(Base64UrlDecode("c3ZjOnN"));   // non-zero trailing bits
  EXPECT_FALSE(Base64UrlDecode("+/8"));       // the standard alphabet
  EXPECT_FALSE(Base64UrlDecode("c3ZjO"));     // 1 mod 4 characters
}

TEST(ScopeTest, KnowsDatabricksScopeNames) {
  for (const char* valid : {"all-apis", "sql", "clusters:read", "sql:read:restricted-query",
                            "sql:restricted-query:read", "unity-catalog", "offline_access"}) {
    EXPECT_TRUE(ParseScope(valid)) << valid;
  }
  for (const char* invalid : {"", "bogus", "all-apis:read", "clusters:write", "clusters:read:read",
                              "jobs:restricted-query", "clusters:"}) {
    EXPECT_FALSE(ParseScope(invalid)) << invalid;
  }
}

TEST(ScopeTest, ReadModifierAllowsOnlyReads) {
  const std::vector<std::string> scopes = {"clusters:read", "sql:restricted-query"};
  EXPECT_EQ(AccessFor(scopes, ApiFamily::kClusters, "GET"), Access::kFull);
  EXPECT_EQ(AccessFor(scopes, ApiFamily::kClusters, "POST"), Access::kDenied);
  EXPECT_EQ(AccessFor(scopes, ApiFamily::kSql, "POST"), Access::kReadOnlyQueries);
  EXPECT_EQ(AccessFor(scopes, ApiFamily::kJobs, "GET"), Access::kDenied);
  EXPECT_EQ(AccessFor({"all-apis"}, ApiFamily::kJobs, "POST"), Access::kFull);
  EXPECT_TRUE(ClientMayRequest({"clusters"}, "clusters:read"));
  EXPECT_FALSE(ClientMayRequest({"clusters:read"}, "clusters"));
}

}  // namespace
}  // namespace dbproxy::fake
