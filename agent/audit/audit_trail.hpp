// AuditTrail: the tamper-evident audit trail behind CommitAudit. The event loop formats each
// record; the lines are chained (common/audit_chain) and appended to the file with one write(2)
// per batch, fsynced per policy, and copied to journald.
//
// Who writes (the fast path): while the trail is healthy, the file is a sink and fsync is not
// "always", Commit appends its record itself, on the calling thread, after whatever was queued
// before it: one write(2) of a few hundred bytes to the page cache, no hand-over to another
// thread and back (two wake-ups per request, most of a cached token's latency). It only tries
// the sink's lock: when the writer thread holds it (a batch, an fsync, a retry), the record is
// queued for the writer as before. The writer thread keeps the rest: fsync ("batch": at most
// batch_ms after the first unsynced write), journald copies (their fields built there, from a
// copy of the record), retries while a sink fails, rotation, and every record while the trail
// is down or fsync = "always".
//
// Sinks and "required":
//   - the file ([audit] file, empty = none) is required whenever configured;
//   - journald ([audit] journald) is a best-effort copy beside a file (a failure is counted and
//     logged, never flaps the trail), and required when it is the only sink.
// While a required sink fails the trail is unhealthy: with fail_closed, Admits() is false (new
// requests get 503 audit_unavailable) and the records that could not be written are kept and
// retried about once a second (reopening the path, recreating its directory); without it,
// requests go on. Either way, records that find the queue full while the trail is unhealthy
// are dropped and counted (with fail_closed they are the records of refused requests).
//
// Wake-ups: while records keep coming the writer takes them every 2 ms (or at once when 256
// wait, or a Commit waits for durability), so a busy agent pays one wake-up per batch.
// Durability: fsync = "always" makes Commit wait until the batch holding the record is fsynced
// (or its first write attempt failed); "batch" fsyncs at most batch_ms after a write; "never"
// leaves it to the kernel. Back-pressure: at most queue_size records wait; Commit suspends
// while the queue is full and the trail healthy.
// Releases (fail_closed only): an answer that hands something out (a token; a call forwarded
// to the workspace) must not go before its record is in the trail as the fsync mode defines
// it. Commit(kRelease) waits until the record is written (and fsynced under "always"); when
// that write fails, the record is withdrawn (never written later: its answer is not given) and
// Commit returns false. Barrier() waits until everything queued before it was written the same
// way and checks the sink in a write attempt of its own (the proxy calls it before forwarding).
// While the trail is down, nothing waits: Commit(kRelease) and Barrier() return false at once,
// other records are queued (or dropped when the queue is full) and Commit returns, so a
// refusal is answered at once.
//
// Rotation: Rotate() (SIGHUP/SIGUSR1 after logrotate renamed the file) reopens the path; a new
// file starts with a genesis line chained to the last line written. A file that shrank under
// us (copytruncate) or was unlinked also gets a genesis line before the next batch.
//
// Threading: Commit, Barrier, Admits, Rotate and the getters from any thread (Commit and
// Barrier on an event loop: their waits are timers of the caller's loop, woken through a post
// to it); Stop once, at shutdown, after the event loops stopped committing.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/asio.hpp"
#include "agent/audit/audit_log.hpp"
#include "agent/loop_waiter.hpp"
#include "common/audit/audit_chain.hpp"
#include "common/audit/audit_record.hpp"
#include "common/core/config.hpp"
#include "common/core/result.hpp"

namespace dbproxy {

struct AuditTrailOptions {
  std::string file{};  // empty: no file sink
  AuditFsync fsync = AuditFsync::kBatch;
  std::chrono::milliseconds batch{50};
  bool journald = true;
  bool fail_closed = true;
  std::size_t queue_size = 8192;
  std::string host{};  // for genesis lines; empty: gethostname()
  std::chrono::milliseconds retry_interval{1000};
};

class AuditTrail {
 public:
  // Opens the file sink (failing start-up when it cannot be opened) and starts the writer.
  // Returns nullptr when no sink is configured.
  static Result<std::unique_ptr<AuditTrail>> Open(AuditTrailOptions options);
  ~AuditTrail();
  AuditTrail(const AuditTrail&) = delete;
  AuditTrail& operator=(const AuditTrail&) = delete;

  // Whether new requests may proceed: healthy, or fail_closed is off.
  bool Admits() const { return healthy_.load() || !options_.fail_closed; }

  // How a Commit waits (see "Releases" above).
  enum class Wait {
    kQueued,   // back-pressure only; with fsync = "always", until durable while healthy
    kRelease,  // until written per the fsync mode; withdrawn when that fails
  };
  // Writes (see "Who writes") or queues one record (a JSON object from FormatAuditRecord) and,
  // when journald is on, a copy of the record its journal entry is made from (WantsJournalCopy).
  // Returns false when a kRelease record was not written (the caller must not give its answer)
  // or a record was dropped (after Stop(), or a full queue while the trail is down; counted).
  // Without fail_closed, kRelease waits like kQueued.
  asio::awaitable<bool> Commit(std::string record_json, std::optional<AuditRecord> journal_record,
                               Wait wait = Wait::kQueued);
  // Whether Commit wants the record for a journald entry: journald is on and is the only sink,
  // or beside a file its socket exists (checked at most once a second).
  bool WantsJournalCopy();
  // Waits until the records queued before it were written (fsynced under "always") in a write
  // attempt that also checks the sink; returns whether it succeeded. Without fail_closed,
  // returns true at once.
  asio::awaitable<bool> Barrier();

  // Reopens the file before the next batch (SIGHUP/SIGUSR1). Thread-safe.
  void Rotate();

  // Writes what is queued (one attempt), fsyncs, and stops the writer. Blocks up to the time
  // one attempt takes. Idempotent.
  void Stop();

  bool healthy() const { return healthy_.load(); }
  std::size_t queue_depth() const;
  std::uint64_t write_failures() const { return write_failures_.load(); }
  std::uint64_t journal_failures() const { return journal_failures_.load(); }
  std::uint64_t records_written() const { return records_written_.load(); }
  std::uint64_t records_dropped() const { return records_dropped_.load(); }
  const std::string& file_path() const { return options_.file; }

 private:
  struct Item {
    std::string json;
    std::optional<AuditRecord> journal;  // the journald entry's source; none: no entry
    // Woken when written (or failed): fsync = "always", or a release.
    std::shared_ptr<LoopWaiter> durable;
    bool withdraw = false;  // a release: dropped, not retried, when its write fails
  };

  explicit AuditTrail(AuditTrailOptions options);
  // The fast path: writes what is queued and then `own` (when given) on the calling thread.
  // nullopt when it does not apply (see "Who writes"): the caller queues `own` as before, which
  // is then untouched. Otherwise whether `own` may be answered (false: a release withdrawn).
  std::optional<bool> TryWriteInline(Item* own);
  void WriterLoop();
  // Writes `batch` (after a genesis line when needed) to the sinks; removes what was written.
  Status WriteBatch(std::vector<Item>& batch);
  Status WriteFile(const std::vector<Item>& batch, std::vector<std::string>& lines);
  void SendJournalCopies(std::vector<Item>& batch, const std::vector<std::string>& lines,
                         Status& status);
  // The copies of fast-path records (beside a file: best effort, counted).
  void SendFastPathCopies(std::vector<std::pair<std::string, AuditRecord>>& copies);
  // A failed journald copy beside a file: counted; the first one is logged.
  void CountJournalFailure(const Status& failed);
  void WakeSpaceWaiters(std::unique_lock<std::mutex>& lock);
  // After a failed attempt: withdraws the failed releases of `batch`, then (under the lock)
  // those of the queue, and wakes every waiter (durability, space, barriers) with false.
  void FailWaiters(std::vector<Item>& batch, std::unique_lock<std::mutex>& lock);
  void SetHealthy(bool healthy, const Status& why);

  AuditTrailOptions options_;
  // The sink's state, written by whoever holds sink_mutex_ (the writer thread, or Commit on
  // the fast path). Never taken while holding mutex_; mutex_ may be taken under it.
  std::mutex sink_mutex_;
  std::optional<AuditFile> file_;
  ChainHead head_;                // guarded by sink_mutex_
  std::string genesis_reason_;    // guarded by sink_mutex_; empty: none due
  bool reopen_pending_ = false;   // guarded by sink_mutex_
  // Fast-path writes the writer has not synced yet (fsync = "batch").
  std::atomic<bool> unsynced_{false};
  std::atomic<std::int64_t> journal_checked_ms_{-1'000'000};  // WantsJournalCopy's last check
  std::atomic<bool> journal_up_{false};

  mutable std::mutex mutex_;
  std::condition_variable wake_writer_;
  std::deque<Item> queue_;                              // guarded by mutex_
  // Written on the fast path, waiting for their journald copy; guarded by mutex_.
  std::vector<std::pair<std::string, AuditRecord>> journal_copies_;
  std::vector<std::shared_ptr<LoopWaiter>> space_waiters_;  // guarded by mutex_
  std::vector<std::shared_ptr<LoopWaiter>> barriers_;       // guarded by mutex_
  bool rotate_requested_ = false;                       // guarded by mutex_
  bool stopping_ = false;                               // guarded by mutex_
  bool writer_idle_ = false;                            // guarded by mutex_
  bool urgent_ = false;  // a Commit waits for durability; guarded by mutex_

  std::atomic<bool> healthy_{true};
  std::atomic<bool> stopped_{false};
  std::atomic<std::uint64_t> write_failures_{0};
  std::atomic<std::uint64_t> journal_failures_{0};
  std::atomic<std::uint64_t> records_written_{0};
  std::atomic<std::uint64_t> records_dropped_{0};
  std::thread writer_;
};

}  // namespace dbproxy
