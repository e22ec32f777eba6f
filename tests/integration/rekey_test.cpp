// dbproxyctl rekey: the store is re-encrypted under a new master key, which replaces key_file;
// an interrupted rotation is finished (or discarded) at the next start.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/integration/harness/integration_fixture.hpp"

namespace dbproxy::testing {
namespace {

class RekeyTest : public IntegrationTest {
 protected:
  std::filesystem::path pending_key() const { return agent_->key_file().string() + ".new"; }

  void ExpectTokenWorks() {
    UnixHttpClient client = agent_->Client();
    const HttpResponse r = RequestToken(client, R"({"scope":"sql"})");
    EXPECT_EQ(r.status, 200) << r.Describe();
  }
};

TEST_F(RekeyTest, RekeyReplacesKeyAndCredentialsSurviveRestart) {
  const HarnessStatus ready = StartAndEnroll();
  ASSERT_TRUE(ready.ok()) << ready.error;
  const std::string old_key = ReadFile(agent_->key_file());
  const std::string old_store = ReadFile(agent_->store_file());
  ASSERT_EQ(old_key.size(), 32U);

  const CtlResult rekey = MakeCtl().Run({"rekey"});
  ASSERT_EQ(rekey.exit_code, 0) << rekey.Describe();
  EXPECT_NE(rekey.out.find("master key rotated"), std::string::npos) << rekey.out;
  const std::string new_key = ReadFile(agent_->key_file());
  EXPECT_EQ(new_key.size(), 32U);
  EXPECT_NE(new_key, old_key);
  EXPECT_NE(ReadFile(agent_->store_file()), old_store);
  EXPECT_FALSE(std::filesystem::exists(pending_key()));
  struct stat st {};
  ASSERT_EQ(::stat(agent_->key_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0400U);
  EXPECT_EQ(rekey.out.find(new_key), std::string::npos);
  ExpectTokenWorks();  // the running agent keeps its credentials

  const HarnessStatus restarted = agent_->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted.error;
  ExpectTokenWorks();
  EXPECT_EQ(agent_->Stop(), 0);

  // The old key no longer opens the store.
  WriteFile(agent_->key_file(), old_key, 0400);
  const std::optional<int> code = agent_->StartExpectingExit();
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
}

TEST_F(RekeyTest, StartFinishesRotationInterruptedAfterStoreWrite) {
  ASSERT_TRUE(StartAndEnroll().ok());
  const std::string old_key = ReadFile(agent_->key_file());
  ASSERT_EQ(MakeCtl().Run({"rekey"}).exit_code, 0);
  ASSERT_EQ(agent_->Stop(), 0);
  // As if the agent died between re-encrypting the store and renaming the key into place.
  const std::string new_key = ReadFile(agent_->key_file());
  std::filesystem::rename(agent_->key_file(), pending_key());
  WriteFile(agent_->key_file(), old_key, 0400);

  const HarnessStatus started = agent_->Start();
  ASSERT_TRUE(started.ok()) << started.error;
  EXPECT_EQ(ReadFile(agent_->key_file()), new_key);
  EXPECT_FALSE(std::filesystem::exists(pending_key()));
  ExpectTokenWorks();
}

TEST_F(RekeyTest, StartDiscardsStagedKeyThatEncryptsNothing) {
  ASSERT_TRUE(StartAndEnroll().ok());
  ASSERT_EQ(agent_->Stop(), 0);
  const std::string key = ReadFile(agent_->key_file());
  WriteFile(pending_key(), std::string(32, '\x17'), 0400);  // died before the store was written
  const HarnessStatus started = agent_->Start();
  ASSERT_TRUE(started.ok()) << started.error;
  EXPECT_EQ(ReadFile(agent_->key_file()), key);
  EXPECT_FALSE(std::filesystem::exists(pending_key()));
  ExpectTokenWorks();
}

TEST_F(RekeyTest, SystemdCredentialKeyIsRefusedWithTheProcedure) {
  const auto cred_dir = dir_->path() / "credentials";
  std::filesystem::create_directories(cred_dir);
  WriteFile(cred_dir / "dbproxy.key", std::string(32, '\x42'), 0400);
  agent_->options().env = {"CREDENTIALS_DIRECTORY=" + cred_dir.string()};
  ASSERT_TRUE(StartAndEnroll().ok());
  const std::string store = ReadFile(agent_->store_file());
  const CtlResult rekey = MakeCtl().Run({"rekey"});
  EXPECT_EQ(rekey.exit_code, 1) << rekey.Describe();
  EXPECT_NE(rekey.err.find("systemd"), std::string::npos) << rekey.err;
  EXPECT_EQ(ReadFile(agent_->store_file()), store);
  EXPECT_EQ(ReadFile(cred_dir / "dbproxy.key"), std::string(32, '\x42'));
}

}  // namespace
}  // namespace dbproxy::testing
