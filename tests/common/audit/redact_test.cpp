#include "common/audit/redact.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace dbproxy {
namespace {

const std::string kHex32 = "0123456789abcdef0123456789abcdef";
const std::string kJwt =
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzcC0xIiwiZXhwIjoxNzAwMDAwMDAwfQ.c2lnbmF0dXJlLWJ5dGVz_-";

struct RedactCase {
  const char* label;
  std::string input;
  std::string expected;
};

void PrintTo(const RedactCase& c, std::ostream* os) {
  *os << c.label;
}

class RedactTableTest : public ::testing::TestWithParam<RedactCase> {};

TEST_P(RedactTableTest, Redacts) {
  EXPECT_EQ(RedactSecrets(GetParam().input), GetParam().expected) << GetParam().label;
}

INSTANTIATE_TEST_SUITE_P(
    Tokens, RedactTableTest,
    ::testing::Values(
        RedactCase{"empty", "", ""},
        RedactCase{"plain text", "nothing to see here", "nothing to see here"},
        RedactCase{"pat alone", "dapi" + kHex32, "[REDACTED]"},
        RedactCase{"pat at start", "dapi" + kHex32 + " was used", "[REDACTED] was used"},
        RedactCase{"pat at end", "token=dapi" + kHex32, "token=[REDACTED]"},
        RedactCase{"pat with suffix", "x dapi" + kHex32 + "-2 y", "x [REDACTED] y"},
        RedactCase{"pat upper hex", "dapi0123456789ABCDEF0123456789ABCDEF", "[REDACTED]"},
        RedactCase{"pat dash no digit stays", "dapi" + kHex32 + "-x", "[REDACTED]-x"},
        RedactCase{"pat glued to word", "xdapi" + kHex32, "x[REDACTED]"},
        RedactCase{"jwt three parts", "Token " + kJwt + " expired", "Token [REDACTED] expired"},
        RedactCase{"jwt at start", kJwt + ". Next", "[REDACTED]. Next"},
        RedactCase{"jwt unsigned", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "[REDACTED]"},
        RedactCase{"jwt short three parts", "a eyJa.b.c z", "a [REDACTED] z"},
        RedactCase{"bare jwt run", "eyJhbGciOiJSUzI1NiJ9xx", "[REDACTED]"},
        RedactCase{"bare jwt in quotes", "\"eyJ0eXAiOiJKV1QiLCJhbGci\"", "\"[REDACTED]\""},
        RedactCase{"client secret", "secret dose0123456789abcdefXYZ!", "secret [REDACTED]!"},
        RedactCase{"refresh token", "doauABCDEFGHIJKLMNOP", "[REDACTED]"},
        RedactCase{"bearer header", "Authorization: Bearer abc.def-123 next",
                   "Authorization: Bearer [REDACTED] next"},
        RedactCase{"bearer lower case", "bearer xyz", "bearer [REDACTED]"},
        RedactCase{"bearer tab", "BEARER\tq\nrest", "BEARER\t[REDACTED]\nrest"},
        RedactCase{"bearer with jwt", "Bearer " + kJwt, "Bearer [REDACTED]"},
        RedactCase{"two kinds", "dapi" + kHex32 + " and doau0123456789abcdef0",
                   "[REDACTED] and [REDACTED]"}));

INSTANTIATE_TEST_SUITE_P(
    NearMisses, RedactTableTest,
    ::testing::Values(
        RedactCase{"pat 31 hex", "dapi" + kHex32.substr(1), "dapi" + kHex32.substr(1)},
        RedactCase{"pat non hex", "dapi0123456789abcdef0123456789abcdeg",
                   "dapi0123456789abcdef0123456789abcdeg"},
        RedactCase{"word dapi", "the dapi prefix", "the dapi prefix"},
        RedactCase{"dose word", "two doses of dosage", "two doses of dosage"},
        RedactCase{"dose 15", "dose0123456789abcde", "dose0123456789abcde"},
        RedactCase{"doau 15", "doau0123456789abcde", "doau0123456789abcde"},
        RedactCase{"short eyJ", "eyJabc", "eyJabc"},
        RedactCase{"eyJ 19 chars", "eyJ0123456789abcdef", "eyJ0123456789abcdef"},
        RedactCase{"two short parts", "eyJa.bc", "eyJa.bc"},
        RedactCase{"bearer json value", "\"token_type\":\"Bearer\"", "\"token_type\":\"Bearer\""},
        RedactCase{"bearer at end", "scheme Bearer", "scheme Bearer"},
        RedactCase{"bearer trailing space", "scheme Bearer  ", "scheme Bearer  "},
        RedactCase{"prefix at end", "dapi", "dapi"}));

TEST(RedactTest, LongInputIsLinearAndUnchanged) {
  std::string text;
  for (int i = 0; i < 20000; ++i)
    text += "eyJa.b dose1 dapi12 doau ";
  EXPECT_EQ(RedactSecrets(text), text);
}

}  // namespace
}  // namespace dbproxy
