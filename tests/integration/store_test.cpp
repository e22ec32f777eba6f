// The encrypted credential store: nothing readable in it, and a daemon that refuses to start
// (without touching the file) when it cannot decrypt it.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/integration/harness/integration_fixture.hpp"

namespace dbproxy::testing {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A clear start-up refusal names what is wrong: the store, its key, decryption or corruption.
bool ExplainsStoreFailure(const std::string& stderr_text) {
  const std::string text = Lower(stderr_text);
  for (const char* word : {"credentials.enc", "store", "key", "decrypt", "corrupt"}) {
    if (text.find(word) != std::string::npos) return true;
  }
  return false;
}

class StoreTest : public IntegrationTest {
 protected:
  // Enrolls, stops the agent and returns the store's bytes.
  std::string EnrollAndStop() {
    const HarnessStatus enrolled = StartAndEnroll();
    EXPECT_TRUE(enrolled.ok()) << enrolled.error;
    EXPECT_EQ(agent_->Stop(), 0) << "dbproxyd should exit 0 on SIGTERM";
    return ReadFile(agent_->store_file());
  }

  void ExpectRefusesToStart(const std::string& store_before) {
    const std::optional<int> code = agent_->StartExpectingExit();
    ASSERT_TRUE(code.has_value()) << "dbproxyd kept running; stderr:\n" << agent_->Stderr();
    EXPECT_NE(*code, 0);
    EXPECT_FALSE(agent_->process()->Signaled()) << "dbproxyd crashed: status " << *code;
    EXPECT_TRUE(ExplainsStoreFailure(agent_->Stderr())) << "stderr:\n" << agent_->Stderr();
    EXPECT_EQ(ReadFile(agent_->store_file()), store_before) << "the store file was modified";
    EXPECT_EQ(agent_->Stderr().find(kSecret), std::string::npos);
  }
};

TEST_F(StoreTest, StoreHoldsNoPlaintextSecretOrClientId) {
  const std::string store = EnrollAndStop();
  ASSERT_FALSE(store.empty()) << "no " << agent_->store_file();
  EXPECT_EQ(store.find(kSecret), std::string::npos);
  EXPECT_EQ(store.find(kClientId), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(agent_->store_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << "store readable by group/others";
  ASSERT_EQ(::stat(agent_->key_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0400u);
  EXPECT_EQ(st.st_size, 32);
}

TEST_F(StoreTest, CorruptedStoreStopsStartupAndIsLeftUntouched) {
  std::string store = EnrollAndStop();
  ASSERT_GT(store.size(), 16u);
  store[store.size() / 2] = static_cast<char>(store[store.size() / 2] ^ 0x5a);
  WriteFile(agent_->store_file(), store, 0600);
  ExpectRefusesToStart(store);
}

TEST_F(StoreTest, WrongKeyStopsStartupAndLeavesStoreUntouched) {
  const std::string store = EnrollAndStop();
  ASSERT_FALSE(store.empty());
  std::string key = ReadFile(agent_->key_file());
  ASSERT_EQ(key.size(), 32u);
  for (auto& c : key) c = static_cast<char>(~c);
  WriteFile(agent_->key_file(), key, 0400);
  ExpectRefusesToStart(store);
}

TEST_F(StoreTest, CredentialsDirectoryKeyWinsOverKeyFile) {
  const auto cred_dir = dir_->path() / "credentials";
  std::filesystem::create_directories(cred_dir);
  WriteFile(cred_dir / "dbproxy.key", std::string(32, '\x42'), 0400);
  agent_->options().env = {"CREDENTIALS_DIRECTORY=" + cred_dir.string()};
  const std::string store = EnrollAndStop();
  ASSERT_FALSE(store.empty());
  EXPECT_FALSE(std::filesystem::exists(agent_->key_file()))
      << "key_file was created although $CREDENTIALS_DIRECTORY/dbproxy.key exists";

  const HarnessStatus restarted = agent_->Start();
  ASSERT_TRUE(restarted.ok()) << restarted.error;
  UnixHttpClient client = agent_->Client();
  const HttpResponse r = RequestToken(client, R"({"scope":"sql"})");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(fake_->CallApi(kMePath, r.Json().value("access_token", "")).status, 200);
}

TEST_F(StoreTest, CheckConfigAcceptsTestConfigAndRejectsUnknownKey) {
  std::string output;
  EXPECT_EQ(agent_->CheckConfig(&output), 0) << output;
  WriteFile(agent_->config_file(), ReadFile(agent_->config_file()) + "\n[tokens2]\nx = 1\n");
  EXPECT_EQ(agent_->CheckConfig(&output), 1) << output;
  EXPECT_NE(output.find("agent.toml"), std::string::npos) << output;
}

}  // namespace
}  // namespace dbproxy::testing
