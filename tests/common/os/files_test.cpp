#include "common/os/files.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/os/unique_fd.hpp"

namespace dbproxy {
namespace {

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/dbproxy-files-test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(Path(name)) << text;
  }
  static mode_t ModeOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return st.st_mode & 07777;
  }

  std::string dir_;
};

TEST_F(FilesTest, UniqueFdClosesOnScopeExitAndOnMove) {
  int raw = -1;
  {
    UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    raw = fd.get();
    ASSERT_GE(raw, 0);
    UniqueFd moved = std::move(fd);
    EXPECT_FALSE(fd.valid());
    EXPECT_EQ(moved.get(), raw);
  }
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);
}

TEST_F(FilesTest, ReadsWholeFilesUpToTheCap) {
  Write("a", "hello");
  EXPECT_EQ(ReadFileText(Path("a"), 5).value(), "hello");
  EXPECT_EQ(ReadFileText(Path("a"), 4).error().code, Errc::kPayloadTooLarge);
  EXPECT_EQ(ReadFileText(Path("missing")).error().code, Errc::kNotFound);
  EXPECT_EQ(ReadFileText(dir_).error().code, Errc::kInvalidRequest);
}

TEST_F(FilesTest, RefusesSymlinks) {
  Write("target", "x");
  ASSERT_EQ(::symlink(Path("target").c_str(), Path("link").c_str()), 0);
  EXPECT_FALSE(ReadFileText(Path("link")).has_value());
  EXPECT_FALSE(ReadFileSecret(Path("link"), 16).has_value());
}

TEST_F(FilesTest, ReadsASecretIntoGuardedMemoryWithTheSameCap) {
  Write("key", "0123456789");
  Result<SecretBytes> secret = ReadFileSecret(Path("key"), 10);
  ASSERT_TRUE(secret.has_value());
  EXPECT_EQ(secret->view(), "0123456789");
  EXPECT_EQ(ReadFileSecret(Path("key"), 9).error().code, Errc::kPayloadTooLarge);
}

TEST_F(FilesTest, AtomicWriteReplacesWithTheModeAndLeavesNoTempFile) {
  Write("state", "old");
  ASSERT_TRUE(AtomicWriteFile(Path("state"), std::string_view("new"), 0600).ok());
  EXPECT_EQ(ReadFileText(Path("state")).value(), "new");
  EXPECT_EQ(ModeOf(Path("state")), 0600u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_),
                          std::filesystem::directory_iterator()),
            1);
}

TEST_F(FilesTest, WriteNewFileNeverOverwrites) {
  ASSERT_TRUE(WriteNewFile(Path("key"), "k1", 0600).ok());
  EXPECT_EQ(ModeOf(Path("key")), 0600u);
  Status again = WriteNewFile(Path("key"), "k2", 0600);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::kConflict);
  EXPECT_EQ(ReadFileText(Path("key")).value(), "k1");
}

TEST_F(FilesTest, PolicySourcesAreTomlFilesInNameOrder) {
  Write("20-b.toml", "b");
  Write("10-a.toml", "a");
  Write(".10-hidden.toml", "h");
  Write("notes.txt", "n");
  Result<std::vector<PolicySource>> sources = ReadPolicySources(dir_);
  ASSERT_TRUE(sources.has_value());
  ASSERT_EQ(sources->size(), 2u);
  EXPECT_EQ((*sources)[0].name, Path("10-a.toml"));
  EXPECT_EQ((*sources)[1].text, "b");
  EXPECT_TRUE(ReadPolicySources(Path("missing")).value().empty());
}

}  // namespace
}  // namespace dbproxy
