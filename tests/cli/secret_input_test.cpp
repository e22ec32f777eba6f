#include "cli/secret_input.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace dbproxy::cli {
namespace {

// Reads `input` through a pipe, as `echo secret | dbproxyctl enroll ...` would deliver it.
Result<SecretBytes> ReadThroughPipe(const std::string& input, std::size_t max_size = 4096) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return MakeError(Errc::kInternal, "pipe");
  // Inputs in these tests stay far below the pipe buffer, so the write cannot block.
  const bool written = ::write(fds[1], input.data(), input.size()) ==
                       static_cast<ssize_t>(input.size());
  ::close(fds[1]);
  Result<SecretBytes> secret = ReadSecretFromFd(fds[0], max_size);
  ::close(fds[0]);
  if (!written) return MakeError(Errc::kInternal, "short write");
  return secret;
}

struct StripCase {
  std::string input;
  std::string expected;
};

TEST(SecretInputTest, StripsExactlyOneTrailingNewline) {
  const StripCase cases[] = {
      {"s3cr3t", "s3cr3t"},
      {"s3cr3t\n", "s3cr3t"},
      {"s3cr3t\r\n", "s3cr3t"},
      {"s3cr3t\n\n", "s3cr3t\n"},
      {"s3cr3t\r", "s3cr3t\r"},
      {"with space \t", "with space \t"},
      {"in\nner", "in\nner"},
  };
  for (const StripCase& c : cases) {
    const Result<SecretBytes> secret = ReadThroughPipe(c.input);
    ASSERT_TRUE(secret.has_value()) << secret.error().message;
    EXPECT_EQ(secret->view(), c.expected);
  }
}

TEST(SecretInputTest, RefusesEmptySecret) {
  for (const char* input : {"", "\n", "\r\n"}) {
    const Result<SecretBytes> secret = ReadThroughPipe(input);
    ASSERT_FALSE(secret.has_value());
    EXPECT_EQ(secret.error().code, Errc::kInvalidRequest);
    EXPECT_EQ(secret.error().message, "the secret is empty");
  }
}

TEST(SecretInputTest, AcceptsSecretAtTheCap) {
  const Result<SecretBytes> secret = ReadThroughPipe(std::string(4096, 'a') + "\r\n");
  ASSERT_TRUE(secret.has_value()) << secret.error().message;
  EXPECT_EQ(secret->size(), 4096U);
}

TEST(SecretInputTest, RefusesOversizeSecret) {
  for (const std::string& input : {std::string(4097, 'a'), std::string(4097, 'a') + "\n",
                                  std::string(4096, 'a') + "\r\r\n", std::string(9000, 'b')}) {
    const Result<SecretBytes> secret = ReadThroughPipe(input);
    ASSERT_FALSE(secret.has_value()) << "size " << input.size();
    EXPECT_EQ(secret.error().message, "the secret is larger than 4096 bytes");
  }
}

TEST(SecretInputTest, HonoursSmallerCap) {
  EXPECT_TRUE(ReadThroughPipe("abcd\n", 4).has_value());
  EXPECT_FALSE(ReadThroughPipe("abcde", 4).has_value());
}

TEST(SecretInputTest, ReadsFileAndStripsNewline) {
  char path[] = "/tmp/dbproxyctl-secret-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string content = "file-secret\r\n";
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ::close(fd);
  const Result<SecretBytes> secret = ReadSecretFromFile(path);
  ::unlink(path);
  ASSERT_TRUE(secret.has_value()) << secret.error().message;
  EXPECT_EQ(secret->view(), "file-secret");
}

TEST(SecretInputTest, MissingFileNamesPathAndReason) {
  const Result<SecretBytes> secret = ReadSecretFromFile("/nonexistent/dbproxyctl/secret");
  ASSERT_FALSE(secret.has_value());
  EXPECT_EQ(secret.error().message,
            "cannot open secret file /nonexistent/dbproxyctl/secret: No such file or directory");
}

}  // namespace
}  // namespace dbproxy::cli
