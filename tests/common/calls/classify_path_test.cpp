// Path normalisation attacks against ClassifyCall, and sanity checks of the route table.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "common/policy/actions.hpp"
#include "common/calls/call_routes.hpp"
#include "common/calls/classify.hpp"

namespace dbproxy {
namespace {

constexpr std::string_view kReject = "reject";

struct PathCase {
  std::string method;
  std::string path;
  std::string_view expected;  // an action, or kReject for kInvalidRequest
  std::string normalized;     // when classified
  std::string why;            // the decision, for the reviewer
};

std::vector<PathCase> AttackCases() {
  const std::string run_now = "/api/2.1/jobs/run-now";
  const std::string list = "/api/2.1/jobs/list";
  return {
      // Collapsing is safe because the normalised path is what gets forwarded.
      {"POST", "//api/2.1/jobs/run-now", "jobs.run", run_now, "'//' collapsed"},
      {"POST", "/api/2.1//jobs/run-now", "jobs.run", run_now, "'//' collapsed"},
      {"POST", "/api/2.1/jobs/run-now//", "jobs.run", run_now, "trailing '/' dropped"},
      {"GET", "/api/2.1/jobs/list/", "jobs.read", list, "trailing '/' dropped"},
      {"POST", "/api/2.0/sql/statements/", "sql.execute", "/api/2.0/sql/statements",
       "trailing '/' dropped: same call as without, never a statement id"},
      {"POST", "/api/2.0/sql/statements", "sql.execute", "/api/2.0/sql/statements", "exact"},
      // Dot segments: servers resolve them differently; never forwarded.
      {"POST", "/api/2.1/jobs/./run-now", kReject, "", "'.' segment"},
      {"POST", "/api/2.1/jobs/list/../run-now", kReject, "", "'..' segment"},
      {"POST", "/api/2.1/jobs/%2e%2e/run-now", kReject, "", "'..' spelt with escapes"},
      {"POST", "/api/2.1/jobs/%2E./run-now", kReject, "", "'..' half escaped"},
      {"POST", "/api/2.1/jobs/%2e/run-now", kReject, "", "'.' spelt with an escape"},
      {"POST", "/api/2.1/jobs/.../run-now", kReject, "", "all-dot segment"},
      {"GET", "/api/2.1/jobs/list/..", kReject, "", "trailing '..'"},
      // Encoded separators and backslashes.
      {"POST", "/api/2.1/jobs%2Frun-now", kReject, "", "encoded '/'"},
      {"POST", "/api/2.1/jobs%2frun-now", kReject, "", "encoded '/', lower case"},
      {"POST", "/api/2.1/jobs%5Crun-now", kReject, "", "encoded '\\'"},
      {"POST", "/api/2.1/jobs%5crun-now", kReject, "", "encoded '\\', lower case"},
      {"POST", "/api/2.1/jobs\\run-now", kReject, "", "raw '\\'"},
      {"POST", "/api/2.1/jobs/%252e%252e/run-now", kReject, "", "double encoding: '%' escaped"},
      // Escapes of unreserved characters decode; the table sees the decoded form.
      {"POST", "/api/2.1/jobs/run%2Dnow", "jobs.run", run_now, "'-' is unreserved"},
      {"POST", "/api/2.1/jobs/run%2dnow", "jobs.run", run_now, "lower-case hex"},
      {"POST", "/api/2%2E1/jobs/run-now", "jobs.run", run_now, "escaped '.' in the version"},
      {"POST", "/api/2.0/unity-catalog/%74emporary-table-credentials", "uc.credentials",
       "/api/2.0/unity-catalog/temporary-table-credentials", "escaping cannot dodge a row"},
      // Case: a server that ignored case would run the known call, so a spelling that another
      // row (or none) matches than its lower-case form is refused.
      {"POST", "/API/2.1/jobs/run-now", kReject, "", "not /api/"},
      {"GET", "/api/2.1/Jobs/list", kReject, "", "case variant of jobs/list"},
      {"POST", "/api/2.1/jobs/RUN-NOW", kReject, "", "case variant of run-now"},
      {"POST", "/api/2.2/Jobs/Run-Now", kReject, "", "case variant on 2.2"},
      {"GET", "/api/2.0/preview/scim/v2/me", kReject, "", "case variant of Me"},
      {"GET", "/api/2.0/preview/SCIM/v2/Me", kReject, "", "case variant of Me"},
      {"POST", "/api/2.1/unity-catalog/Temporary-table-credentials", kReject, "",
       "would be uc.write exactly, uc.credentials ignoring case"},
      {"GET", "/api/2.1/unity-catalog/ICEBERG-rest/v1/config", kReject, "",
       "would be uc.read exactly, uc.credentials ignoring case"},
      {"GET", "/api/2.0/Token/list", kReject, "", "case variant of a token call"},
      {"GET", "/api/2.0/sql/statements/ABC-def", "sql.read", "/api/2.0/sql/statements/ABC-def",
       "identifiers keep their case"},
      {"GET", "/api/2.1/unity-catalog/tables/Main.Default.T", "uc.read",
       "/api/2.1/unity-catalog/tables/Main.Default.T", "names keep their case"},
      {"GET", "/api/2.1/Unknown/Thing", "api.unknown", "/api/2.1/Unknown/Thing",
       "no row in any case"},
      // NUL, control bytes, characters a server might strip or split on.
      {"GET", "/api/2.1/jobs/list%00", kReject, "", "encoded NUL"},
      {"GET", std::string("/api/2.1/jobs/list\0", 19), kReject, "", "raw NUL"},
      {"GET", "/api/2.1/jobs/list\n", kReject, "", "raw control byte"},
      {"GET", "/api/2.1/jobs/list%0a", kReject, "", "encoded control byte"},
      {"GET", "/api/2.1/jobs/list;x", kReject, "", "';' path parameter (stripped by some)"},
      {"GET", "/api/2.1/jobs/list%3Bx", kReject, "", "encoded ';'"},
      {"GET", "/api/2.1/jobs/list?x=1", kReject, "", "query must be split off by the caller"},
      {"GET", "/api/2.1/jobs/list#x", kReject, "", "fragment"},
      {"GET", "/api/2.1/jobs/list%20", kReject, "", "encoded space"},
      {"GET", "/api/2.1/jobs/list ", kReject, "", "raw space"},
      {"GET", "/api/2.1/jobs/l\xC3\xAFst", kReject, "", "raw non-ASCII"},
      {"GET", "/api/2.1/jobs/l%C3%AFst", kReject, "", "encoded non-ASCII"},
      // Unusual but valid names inside a known API: accepted, re-encoded in one spelling.
      {"GET", "/api/2.0/fs/files/Volumes/c/s/v/my%20file.csv", "files.read",
       "/api/2.0/fs/files/Volumes/c/s/v/my%20file.csv", "space in a volume file name"},
      {"GET", "/api/2.0/fs/files/Volumes/c/s/v/caf\xC3\xA9.csv", "files.read",
       "/api/2.0/fs/files/Volumes/c/s/v/caf%C3%A9.csv", "raw UTF-8, encoded when forwarded"},
      {"GET", "/api/2.0/fs/files/Volumes/c/s/v/caf%c3%a9.csv", "files.read",
       "/api/2.0/fs/files/Volumes/c/s/v/caf%C3%A9.csv", "lower-case hex, one spelling"},
      {"PUT", "/api/2.0/fs/files/Users/a@b.com/a+b(1).txt", "files.write",
       "/api/2.0/fs/files/Users/a%40b.com/a%2Bb%281%29.txt", "sub-delimiters are encoded"},
      {"GET", "/api/2.1/unity-catalog/tables/main.default.my%20t%C3%A4ble", "uc.read",
       "/api/2.1/unity-catalog/tables/main.default.my%20t%C3%A4ble", "UC name with a space"},
      {"GET", "/api/2.0/fs/files/Volumes/c/s/v/100%25.csv", kReject, "",
       "an encoded '%' would be decoded twice by some servers"},
      {"GET", "/api/2.0/fs/files/Volumes/c/s/v/a%3Bb", kReject, "", "encoded ';' stays refused"},
      {"GET", "/api/2.0/fs/files/Volumes/c/s/v/%2E%2E", kReject, "", "dot segment in a name"},
      {"GET", "/api/2.0/fs/files/Volumes/c/s/v/a%2Fb", kReject, "", "encoded '/' in a name"},
      {"GET", "/api/2.0/fs/files/Volumes/c/s/v/a%5Cb", kReject, "", "encoded '\\' in a name"},
      {"PATCH", "/api/2.1/unity-catalog/permissions%20/table/t", kReject, "",
       "uc.write as sent, permissions.manage once a server trims the space"},
      {"GET", "/api/2.1/jobs/l%C3%AFst%20", kReject, "", "unusual characters, unknown call"},
      // Malformed escapes.
      {"GET", "/api/2.1/jobs/list%", kReject, "", "truncated escape"},
      {"GET", "/api/2.1/jobs/list%4", kReject, "", "truncated escape"},
      {"GET", "/api/2.1/jobs/%zzlist", kReject, "", "non-hex escape"},
      // Not an API path at all.
      {"GET", "", kReject, "", "empty"},
      {"GET", "/", kReject, "", "root"},
      {"GET", "/api", kReject, "", "no version"},
      {"GET", "/api/", kReject, "", "no version"},
      {"GET", "api/2.1/jobs/list", kReject, "", "relative"},
      {"GET", "/oidc/v1/token", kReject, "", "outside /api/"},
      {"GET", std::string(5000, '/') + "api/2.1/jobs/list", kReject, "", "over 4096 bytes"},
      {"POST", "/serving-endpoints//m/invocations", "serving.query",
       "/serving-endpoints/m/invocations", "the one root outside /api/"},
  };
}

TEST(ClassifyPathTest, AttackTable) {
  for (const PathCase& c : AttackCases()) {
    SCOPED_TRACE(c.method + " '" + c.path + "': " + c.why);
    const Result<Classification> got = ClassifyCall(c.method, c.path);
    if (c.expected == kReject) {
      ASSERT_FALSE(got.has_value()) << got->action;
      EXPECT_EQ(got.error().code, Errc::kInvalidRequest);
      continue;
    }
    ASSERT_TRUE(got.has_value()) << got.error().message;
    EXPECT_EQ(got->action, c.expected);
    EXPECT_EQ(got->normalized_path, c.normalized);
  }
}

TEST(ClassifyPathTest, NormalizedPathClassifiesIdentically) {
  for (const PathCase& c : AttackCases()) {
    const Result<Classification> once = ClassifyCall(c.method, c.path);
    if (!once) continue;
    SCOPED_TRACE(c.path);
    const Result<Classification> twice = ClassifyCall(c.method, once->normalized_path);
    ASSERT_TRUE(twice.has_value());
    EXPECT_EQ(twice->action, once->action);
    EXPECT_EQ(twice->normalized_path, once->normalized_path);
    EXPECT_EQ(twice->api_version, once->api_version);
    EXPECT_EQ(twice->resource, once->resource);
  }
}

TEST(ClassifyPathTest, ErrorsDoNotEchoThePath) {
  const Result<Classification> got = ClassifyCall("GET", "/api/2.1/jobs/secret-name%2F..");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().message.find("secret-name"), std::string::npos);
}

bool IsKnownAction(std::string_view action) {
  const auto known = KnownActions();
  return std::find(known.begin(), known.end(), action) != known.end();
}

TEST(CallRoutesTest, RowsAreWellFormed) {
  for (const CallRoute& route : CallRoutes()) {
    SCOPED_TRACE(std::string(route.method) + " " + std::string(route.pattern));
    EXPECT_TRUE(IsKnownAction(route.action));
    EXPECT_TRUE(IsKnownAction(FallbackAction(route.resource)));
    EXPECT_FALSE(route.resource.empty());
    EXPECT_TRUE(route.method == "*" || route.method == "GET" || route.method == "POST" ||
                route.method == "PUT" || route.method == "PATCH" || route.method == "DELETE");
    std::string_view rest = route.pattern;
    while (!rest.empty()) {
      const std::size_t slash = rest.find('/');
      const std::string_view segment = rest.substr(0, slash);
      rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
      EXPECT_FALSE(segment.empty());
      if (segment == "**") {
        EXPECT_TRUE(rest.empty()) << "'**' only as the last segment";
      } else if (segment.find('*') != std::string_view::npos) {
        EXPECT_EQ(segment.find('*'), segment.size() - 1) << "'*' only at the end of a segment";
      }
    }
  }
}

TEST(CallRoutesTest, UnknownResourceFallsBackToApiUnknown) {
  EXPECT_EQ(FallbackAction("no-such-api"), "api.unknown");
  EXPECT_EQ(FallbackAction("secrets"), "api.unknown");
  EXPECT_EQ(FallbackAction("jobs"), "jobs.manage");
}

// classify_fuzz (10-minute run): a path under 4096 bytes whose escaped spelling was longer was
// accepted, and its normalised path then refused when classified again.
TEST(ClassifyPathTest, NormalisedSpellingIsHeldToTheLengthCapToo) {
  const std::string prefix = "/api/2.1/unity-catalog/tables/";
  const std::string name(2000, '!');  // each '!' becomes "%21"
  const Result<Classification> tripled = ClassifyCall("GET", prefix + name);
  ASSERT_FALSE(tripled.has_value());
  EXPECT_EQ(tripled.error().code, Errc::kInvalidRequest);
  const Result<Classification> fits = ClassifyCall("GET", prefix + std::string(1000, '!'));
  ASSERT_TRUE(fits.has_value()) << fits.error().message;
  const Result<Classification> again = ClassifyCall("GET", fits->normalized_path);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->normalized_path, fits->normalized_path);
}

}  // namespace
}  // namespace dbproxy
