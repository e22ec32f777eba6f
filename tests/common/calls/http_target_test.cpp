#include "common/calls/http_target.hpp"

#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace dbproxy {
namespace {

struct SplitCase {
  std::string target;
  std::string path;
  std::string query;
};

void PrintTo(const SplitCase& c, std::ostream* os) {
  *os << "'" << c.target << "'";
}

class HttpTargetSplitTest : public ::testing::TestWithParam<SplitCase> {};

TEST_P(HttpTargetSplitTest, SplitsAtFirstQuestionMark) {
  const SplitTarget split = SplitRequestTarget(GetParam().target);
  EXPECT_EQ(split.path, GetParam().path);
  EXPECT_EQ(split.query, GetParam().query);
}

INSTANTIATE_TEST_SUITE_P(
    Targets, HttpTargetSplitTest,
    ::testing::Values(SplitCase{"/v1/whoami", "/v1/whoami", ""},
                      SplitCase{"/v1/x?host=h&client_id=c", "/v1/x", "host=h&client_id=c"},
                      SplitCase{"/v1/x?", "/v1/x", ""}, SplitCase{"?a=1", "", "a=1"},
                      SplitCase{"/a?b?c", "/a", "b?c"}, SplitCase{"", "", ""},
                      SplitCase{"/a%3Fb?c", "/a%3Fb", "c"}));

TEST(HttpTargetTest, SplitViewsPointIntoTheTarget) {
  const std::string target = "/p?q";
  const SplitTarget split = SplitRequestTarget(target);
  EXPECT_EQ(split.path.data(), target.data());
  EXPECT_EQ(split.query.data(), target.data() + 3);
}

struct SegmentsCase {
  std::string path;
  std::vector<std::string> segments;
};

void PrintTo(const SegmentsCase& c, std::ostream* os) {
  *os << "'" << c.path << "'";
}

class HttpTargetSegmentsTest : public ::testing::TestWithParam<SegmentsCase> {};

TEST_P(HttpTargetSegmentsTest, Decodes) {
  Result<std::vector<std::string>> segments = DecodePathSegments(GetParam().path);
  ASSERT_TRUE(segments) << segments.error().message;
  EXPECT_EQ(*segments, GetParam().segments);
}

INSTANTIATE_TEST_SUITE_P(
    Paths, HttpTargetSegmentsTest,
    ::testing::Values(SegmentsCase{"/", {}}, SegmentsCase{"/healthz", {"healthz"}},
                      SegmentsCase{"/v1/workspaces/prod%2Dx/credentials",
                                   {"v1", "workspaces", "prod-x", "credentials"}},
                      SegmentsCase{"/v1/a%20b", {"v1", "a b"}}, SegmentsCase{"/a+b", {"a+b"}},
                      SegmentsCase{"/%2e%2e.", {"..."}}, SegmentsCase{"/.a/a.", {".a", "a."}},
                      SegmentsCase{"/%41%62", {"Ab"}},
                      SegmentsCase{"/%e2%82%ac", {"\xe2\x82\xac"}}));

class HttpTargetBadPathTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HttpTargetBadPathTest, IsInvalidRequest) {
  Result<std::vector<std::string>> segments = DecodePathSegments(GetParam());
  ASSERT_FALSE(segments);
  EXPECT_EQ(segments.error().code, Errc::kInvalidRequest);
}

INSTANTIATE_TEST_SUITE_P(Paths, HttpTargetBadPathTest,
                         ::testing::Values("", "v1/whoami", "*", "//", "/v1//whoami", "/v1/",
                                           "/v1/whoami/", "/.", "/..", "/v1/./x", "/v1/../x",
                                           "/v1/%2E", "/v1/%2e%2E/x", "/a%2Fb", "/a%2fb", "/%",
                                           "/%4", "/%zz", "/%4G", "/a%00b", "/x/%"));

struct TargetQueryCase {
  std::string query;
  std::map<std::string, std::string> params;
};

void PrintTo(const TargetQueryCase& c, std::ostream* os) {
  *os << "'" << c.query << "'";
}

class HttpTargetQueryTest : public ::testing::TestWithParam<TargetQueryCase> {};

TEST_P(HttpTargetQueryTest, Parses) {
  Result<std::map<std::string, std::string>> params = ParseQuery(GetParam().query);
  ASSERT_TRUE(params) << params.error().message;
  EXPECT_EQ(*params, GetParam().params);
}

INSTANTIATE_TEST_SUITE_P(
    Queries, HttpTargetQueryTest,
    ::testing::Values(TargetQueryCase{"", {}}, TargetQueryCase{"a=1&b=x%20y", {{"a", "1"}, {"b", "x y"}}},
                      TargetQueryCase{"host=https%3A%2F%2Fadb-1.example.com&client_id=abc",
                                {{"host", "https://adb-1.example.com"}, {"client_id", "abc"}}},
                      TargetQueryCase{"&", {}}, TargetQueryCase{"&&a=1&&", {{"a", "1"}}},
                      TargetQueryCase{"flag", {{"flag", ""}}}, TargetQueryCase{"a=", {{"a", ""}}},
                      TargetQueryCase{"a=1=2", {{"a", "1=2"}}}, TargetQueryCase{"a+b=c+d", {{"a+b", "c+d"}}},
                      TargetQueryCase{"%61=1", {{"a", "1"}}}, TargetQueryCase{"=v", {{"", "v"}}},
                      TargetQueryCase{"a=1&A=2", {{"a", "1"}, {"A", "2"}}}));

class HttpTargetBadQueryTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HttpTargetBadQueryTest, IsInvalidRequest) {
  Result<std::map<std::string, std::string>> params = ParseQuery(GetParam());
  ASSERT_FALSE(params);
  EXPECT_EQ(params.error().code, Errc::kInvalidRequest);
}

INSTANTIATE_TEST_SUITE_P(Queries, HttpTargetBadQueryTest,
                         ::testing::Values("a=1&a=2", "a&a", "a=&a", "a=1&%61=2", "a=%", "a=%2",
                                           "a=%zz", "%zz=1", "a=%00", "b=1&a=%G0"));

TEST(HttpTargetTest, RepeatedKeyErrorExplainsItself) {
  Result<std::map<std::string, std::string>> params = ParseQuery("host=a&host=b");
  ASSERT_FALSE(params);
  EXPECT_NE(params.error().message.find("twice"), std::string::npos) << params.error().message;
}

}  // namespace
}  // namespace dbproxy
