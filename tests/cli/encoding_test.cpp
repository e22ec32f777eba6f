#include "cli/encoding.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dbproxy::cli {
namespace {

struct EncodingCase {
  std::string input;
  std::string expected;
};

TEST(EncodingTest, PercentEncodesEverythingButUnreserved) {
  const EncodingCase cases[] = {
      {"", ""},
      {"prod", "prod"},
      {"AZaz09-._~", "AZaz09-._~"},
      {"etl sp", "etl%20sp"},
      {"a/b", "a%2Fb"},
      {"../admin", "..%2Fadmin"},
      {"x?y=z&w", "x%3Fy%3Dz%26w"},
      {"100%", "100%25"},
      {"a+b", "a%2Bb"},
      {"https://adb-1.azuredatabricks.net/", "https%3A%2F%2Fadb-1.azuredatabricks.net%2F"},
      {"caf\xc3\xa9", "caf%C3%A9"},
      {std::string("nul\0byte", 8), "nul%00byte"},
      {"#frag", "%23frag"},
      {"\r\n", "%0D%0A"},
  };
  for (const EncodingCase& c : cases) {
    EXPECT_EQ(PercentEncode(c.input), c.expected) << "input: " << c.input;
  }
}

}  // namespace
}  // namespace dbproxy::cli
