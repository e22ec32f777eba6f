#include "common/core/secret_bytes.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace dbproxy {
namespace {

TEST(SecretBytesTest, CopiesAndTerminates) {
  SecretBytes secret = SecretBytes::CopyFrom(std::string_view("s3cr3t"));
  EXPECT_EQ(secret.size(), 6u);
  EXPECT_EQ(secret.view(), "s3cr3t");
  EXPECT_STREQ(secret.c_str(), "s3cr3t");
}

TEST(SecretBytesTest, MoveLeavesSourceEmpty) {
  SecretBytes a = SecretBytes::CopyFrom(std::string_view("abc"));
  SecretBytes b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_STREQ(a.c_str(), "");
  EXPECT_EQ(b.view(), "abc");
}

TEST(SecretBytesTest, EqualsIsExact) {
  SecretBytes secret = SecretBytes::CopyFrom(std::string_view("abc"));
  const std::string same = "abc", other = "abd", longer = "abcd";
  auto span = [](const std::string& s) {
    return std::span<const unsigned char>(reinterpret_cast<const unsigned char*>(s.data()),
                                          s.size());
  };
  EXPECT_TRUE(secret.Equals(span(same)));
  EXPECT_FALSE(secret.Equals(span(other)));
  EXPECT_FALSE(secret.Equals(span(longer)));
}

TEST(SecretBytesTest, WipeStringClearsCapacity) {
  std::string text = "a secret that is long enough to live on the heap";
  const char* data = text.data();
  const std::size_t capacity = text.capacity();
  WipeString(text);
  EXPECT_TRUE(text.empty());
  for (std::size_t i = 0; i < capacity; ++i) EXPECT_EQ(data[i], '\0');
}

}  // namespace
}  // namespace dbproxy
