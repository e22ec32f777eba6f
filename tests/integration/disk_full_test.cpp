// A full filesystem under the audit trail and under state_dir (a 512 KiB tmpfs mounted for the
// test; skipped with a message where mounting is not allowed): the audit trail fails closed
// (503 audit_unavailable, no request served unaudited) and recovers once there is room, its
// chain intact; state writes (grants, enrolment) fail with a clear error and leave the
// previous version of each file as it was.
#include <sys/mount.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/integration/harness/runtime_fixture.hpp"

namespace dbproxy::testing {
namespace {

class DiskFullTest : public RuntimeFixture {
 protected:
  void SetUp() override {
    RuntimeFixture::SetUp();
    small_ = agent_->dir() / "small";
    std::filesystem::create_directories(small_);
    if (::mount("tmpfs", small_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=512k,mode=0755") !=
        0) {
      skip_ = std::string("cannot mount a small tmpfs here: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (agent_) agent_->Stop();
    if (mounted_) ::umount2(small_.c_str(), MNT_DETACH);
    RuntimeFixture::TearDown();
  }

  // Replaces `key = "<old>"` in agent.toml.
  void Repoint(const std::string& key, const std::filesystem::path& old_path,
               const std::filesystem::path& new_path) {
    std::string config = ReadFile(agent_->config_file());
    const std::string old_line = key + " = \"" + old_path.string() + "\"";
    ASSERT_NE(config.find(old_line), std::string::npos) << config;
    config.replace(config.find(old_line), old_line.size(),
                   key + " = \"" + new_path.string() + "\"");
    WriteFile(agent_->config_file(), config, 0644);
  }

  // Fills the tmpfs to the last byte with a filler file.
  void Fill() {
    std::ofstream filler(small_ / "filler", std::ios::binary);
    const std::string block(4096, 'x');
    for (int i = 0; i < 1024 && filler.write(block.data(), block.size()); ++i) {
    }
    filler.close();
    // Whatever the last partial block left: fill it byte by byte.
    std::ofstream rest(small_ / "filler2", std::ios::binary);
    for (int i = 0; i < 8192 && rest.put('x'); ++i) rest.flush();
  }
  void Unfill() {
    std::filesystem::remove(small_ / "filler");
    std::filesystem::remove(small_ / "filler2");
  }

  std::filesystem::path small_;
  bool mounted_ = false;
  std::string skip_;
};

TEST_F(DiskFullTest, AuditOnAFullDiskFailsClosedAndRecovers) {
  if (!mounted_) GTEST_SKIP() << skip_;
  const std::filesystem::path audit = small_ / "audit.log";
  Repoint("file", agent_->audit_file(), audit);
  ASSERT_TRUE(StartAndEnroll().ok());
  ASSERT_EQ(RootToken().status, 403);  // root-tests has no role: a decision, audited

  Fill();
  UnixHttpClient client = agent_->Client();
  EXPECT_TRUE(WaitFor([&] { return client.Get("/v1/whoami").status == 503; },
                      std::chrono::seconds(10)))
      << "requests were still served with the audit disk full";
  const HttpResponse refused = client.Get("/v1/whoami");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(ErrorCode(refused), "audit_unavailable") << refused.body;
  const HttpResponse token = BatchToken();
  EXPECT_EQ(token.status, 503) << "a token was issued without an audit record";

  Unfill();
  EXPECT_TRUE(WaitFor([&] { return agent_->Client().Get("/v1/whoami").status == 200; },
                      std::chrono::seconds(15), std::chrono::milliseconds(200)))
      << "the audit trail did not recover once there was room";
  EXPECT_EQ(BatchToken().status, 200);
  const CtlResult verified = MakeCtl().Run({"audit", "verify", audit.string()});
  EXPECT_EQ(verified.exit_code, 0) << verified.Describe();
}

TEST_F(DiskFullTest, StateWritesOnAFullDiskFailCleanly) {
  if (!mounted_) GTEST_SKIP() << skip_;
  const std::filesystem::path state = small_ / "state";
  std::filesystem::create_directories(state);
  Repoint("state_dir", agent_->state_dir(), state);
  ASSERT_TRUE(StartAndEnroll().ok());
  const CtlResult first = RunCtl({"grant", kRootService, kRole, "--reason", "before"});
  ASSERT_EQ(first.exit_code, 0) << first.Describe();
  const std::string grants = ReadFile(state / "grants.json");
  const std::string store = ReadFile(state / "credentials.enc");
  ASSERT_FALSE(grants.empty());
  ASSERT_FALSE(store.empty());

  Fill();
  const CtlResult grant = RunCtl({"grant", kBatchService, kRole, "--reason", "full"});
  EXPECT_NE(grant.exit_code, 0) << grant.Describe();
  EXPECT_FALSE(grant.err.empty());
  const CtlResult revoke = RunCtl({"revoke", kRootService, kRole});
  EXPECT_NE(revoke.exit_code, 0) << revoke.Describe();
  const HttpResponse enrolled =
      agent_->Enroll(kWorkspace, "second-sp", fake_->url(), kClientId, kSecret);
  EXPECT_GE(enrolled.status, 500) << enrolled.Describe();
  EXPECT_EQ(ReadFile(state / "grants.json"), grants) << "grants.json changed on a full disk";
  EXPECT_EQ(ReadFile(state / "credentials.enc"), store) << "the store changed on a full disk";
  // What the agent serves is still the old state: root-tests holds its grant.
  EXPECT_EQ(RootToken().status, 200);

  Unfill();
  const CtlResult later = RunCtl({"grant", kBatchService, kRole, "--reason", "room again"});
  EXPECT_EQ(later.exit_code, 0) << later.Describe();
  ASSERT_TRUE(agent_->Restart().ok()) << "the agent did not start on the state the disk kept";
  EXPECT_EQ(RootToken().status, 200);
}

}  // namespace
}  // namespace dbproxy::testing
