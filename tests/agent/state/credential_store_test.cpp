// CredentialStore through its file-writer seam: a write that blocks (a slow fsync) must not
// block readers, and memory changes only once the write succeeded.
#include "agent/state/credential_store.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

namespace dbproxy {
namespace {

using std::chrono::milliseconds;

// A file writer the test can hold (as a slow disk would) and make fail.
class FakeDisk {
 public:
  Status Write(const std::string&, std::span<const unsigned char>, mode_t) {
    std::unique_lock lock(mutex_);
    ++writes_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !held_; });
    if (fail_) return MakeError(Errc::kInternal, "disk full");
    return Status::Ok();
  }
  void Hold() { Set([&] { held_ = true; }); }
  void Release() { Set([&] { held_ = false; }); }
  void Fail() { Set([&] { fail_ = true; }); }
  bool WaitForWrites(int n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(5), [&] { return writes_ >= n; });
  }

 private:
  void Set(const std::function<void()>& change) {
    const std::lock_guard lock(mutex_);
    change();
    changed_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  bool held_ = false;
  bool fail_ = false;
  int writes_ = 0;
};

// Runs `read` on another thread; true when it finished within `limit`. Detached, so that a
// store whose lock is held fails the test instead of deadlocking it.
template <class F>
bool FinishesWithin(F read, milliseconds limit = milliseconds(1000)) {
  auto task = std::make_shared<std::packaged_task<void()>>(std::move(read));
  std::future<void> done = task->get_future();
  std::thread([task] { (*task)(); }).detach();
  return done.wait_for(limit) == std::future_status::ready;
}

class CredentialStoreTest : public ::testing::Test {
 protected:
  CredentialStoreTest() {
    EXPECT_GE(sodium_init(), 0);
    store_ = std::make_unique<CredentialStore>(
        "/nonexistent/credentials.enc", SecretBytes(32), CredentialStoreData{},
        [this](const std::string& path, std::span<const unsigned char> data, mode_t mode) {
          return disk_.Write(path, data, mode);
        });
  }
  ~CredentialStoreTest() override {
    disk_.Release();
    if (writer_.joinable()) writer_.join();
  }

  Status Put(const std::string& workspace, const std::string& credential) {
    return store_->Put(workspace, "https://h.example.com", credential, "client-" + credential,
                       SecretBytes::CopyFrom(std::string_view("secret")), 1);
  }
  // Starts Put on a thread of its own and waits until its write is at the (held) disk.
  void StartHeldPut(const std::string& workspace, const std::string& credential, int write) {
    disk_.Hold();
    writer_ = std::thread(
        [this, workspace, credential] { put_result_ = Put(workspace, credential); });
    ASSERT_TRUE(disk_.WaitForWrites(write));
  }

  FakeDisk disk_;
  std::unique_ptr<CredentialStore> store_;
  std::thread writer_;
  Status put_result_ = Status::Ok();
};

TEST_F(CredentialStoreTest, ReadsDoNotWaitForASlowWrite) {
  ASSERT_TRUE(Put("prod", "etl"));
  StartHeldPut("dev", "etl", 2);

  EXPECT_TRUE(FinishesWithin([this] { (void)store_->HostOf("prod"); })) << "HostOf";
  EXPECT_TRUE(FinishesWithin([this] { (void)store_->workspace_count(); })) << "workspace_count";
  EXPECT_TRUE(FinishesWithin([this] { (void)store_->List(); })) << "List";
  EXPECT_TRUE(FinishesWithin([this] { (void)store_->CopyCredential("prod", "etl"); }))
      << "CopyCredential";
  disk_.Release();
  writer_.join();
  EXPECT_TRUE(put_result_);
  EXPECT_EQ(store_->workspace_count(), 2u);
}

TEST_F(CredentialStoreTest, ChangeIsVisibleOnlyOnceWritten) {
  ASSERT_TRUE(Put("prod", "etl"));
  StartHeldPut("prod", "bi", 2);
  std::size_t during = 0;
  ASSERT_TRUE(FinishesWithin([&] { during = store_->credential_count(); }));
  EXPECT_EQ(during, 1u) << "the new credential is not on disk yet";
  disk_.Release();
  writer_.join();
  EXPECT_EQ(store_->credential_count(), 2u);
}

TEST_F(CredentialStoreTest, FailedWriteLeavesMemoryUnchanged) {
  ASSERT_TRUE(Put("prod", "etl"));
  disk_.Fail();
  EXPECT_FALSE(Put("prod", "bi"));
  EXPECT_FALSE(Put("dev", "etl"));
  EXPECT_FALSE(store_->RemoveWorkspace("prod"));
  EXPECT_FALSE(store_->RemoveCredential("prod", "etl"));
  EXPECT_FALSE(store_->Rekey(SecretBytes(32)));
  ASSERT_EQ(store_->List().size(), 1u);
  EXPECT_EQ(store_->List()[0].credential, "etl");
  Result<CredentialCopy> copy = store_->CopyCredential("prod", "etl");
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->secret.view(), "secret");
}

TEST_F(CredentialStoreTest, CopyCredentialOwnsItsSecret) {
  ASSERT_TRUE(Put("prod", "etl"));
  Result<CredentialCopy> copy = store_->CopyCredential("prod", "etl");
  ASSERT_TRUE(copy);
  ASSERT_TRUE(store_->RemoveWorkspace("prod"));
  EXPECT_EQ(copy->host, "https://h.example.com");
  EXPECT_EQ(copy->client_id, "client-etl");
  EXPECT_EQ(copy->secret.view(), "secret");
  EXPECT_EQ(store_->CopyCredential("prod", "etl").error().code, Errc::kNotFound);
}

}  // namespace
}  // namespace dbproxy
