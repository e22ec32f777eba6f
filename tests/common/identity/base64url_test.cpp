// Strict base64url (common/identity/base64url.hpp).
#include "common/identity/base64url.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dbproxy {
namespace {

TEST(Base64UrlTest, EncodesWithoutPadding) {
  // RFC 4648 section 10 vectors, padding dropped.
  EXPECT_EQ(Base64UrlEncode(std::string_view("")), "");
  EXPECT_EQ(Base64UrlEncode(std::string_view("f")), "Zg");
  EXPECT_EQ(Base64UrlEncode(std::string_view("fo")), "Zm8");
  EXPECT_EQ(Base64UrlEncode(std::string_view("foo")), "Zm9v");
  EXPECT_EQ(Base64UrlEncode(std::string_view("foob")), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode(std::string_view("fooba")), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode(std::string_view("foobar")), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode(std::string_view("\xfb\xff\xbf", 3)), "-_-_");
}

TEST(Base64UrlTest, DecodeRoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i)
    all += static_cast<char>(i);
  for (std::size_t length = 0; length <= all.size(); length += 37) {
    const std::string bytes = all.substr(0, length);
    Result<std::string> decoded = Base64UrlDecode(Base64UrlEncode(bytes));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, bytes);
  }
  EXPECT_EQ(*Base64UrlDecode("-_-_"), std::string("\xfb\xff\xbf", 3));
}

TEST(Base64UrlTest, DecodeAcceptsOneSpellingOnly) {
  for (const char* text : {"Zg==", "Zg=", "Z", "Zm9vY", "Zh", "Zm9", "Zm+v", "Zm/v", "Zm9v\n",
                           " Zm9v", "Zm 9v", "Zm9v.", "\xc3\xa9Zm9"}) {
    Result<std::string> decoded = Base64UrlDecode(text);
    ASSERT_FALSE(decoded.has_value()) << text;
    EXPECT_EQ(decoded.error().message, "invalid base64url");
  }
  EXPECT_FALSE(Base64UrlDecode(std::string_view("Zm\0v", 4)).has_value());
  EXPECT_EQ(*Base64UrlDecode("Zm8"), "fo");  // "Zm9" would set unused bits
  EXPECT_EQ(*Base64UrlDecode(""), "");
}

}  // namespace
}  // namespace dbproxy
