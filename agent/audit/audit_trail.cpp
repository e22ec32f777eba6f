#include "agent/audit/audit_trail.hpp"

#include <unistd.h>

#include <array>
#include <utility>

#include "agent/audit/audit_journal.hpp"
#include "agent/clock.hpp"
#include "agent/log.hpp"
#include "common/os/files.hpp"

namespace dbproxy {
namespace {

using Clock = std::chrono::steady_clock;

// While records keep coming, the writer wakes by itself this often instead of being woken per
// record: one wake-up (and context switch) per batch, not per request.
constexpr std::chrono::milliseconds kLinger{2};
// A queue this long wakes the writer at once.
constexpr std::size_t kWakeBatch = 256;

// One journald entry: the record's fields and the exact chained line.
Status SendJournalEntry(const AuditRecord& record, const std::string& line) {
  std::vector<std::string> fields = JournalFields(record);
  fields.push_back("DBPROXY_RECORD=" + line);
  return SendToJournal(fields);
}

std::string Detail(const Status& status) {
  if (status) return "";
  return status.error().log_detail.empty() ? status.error().message : status.error().log_detail;
}

// Continues the chain of an existing file, or starts a new one when it ends with something
// that is not a chain line (the damage stays for `audit verify` to report).
Result<ChainHead> HeadOf(AuditFile& file) {
  bool damaged = false;
  Result<std::string> last = file.LastLine(damaged);
  if (!last) return std::move(last).error();
  if (damaged) {
    Log(LogLevel::kWarning, "audit file " + file.path() +
                                " ends without a newline (cut mid-line); a new chain starts after it");
    if (Status ended = file.Append("\n"); !ended) return std::move(ended).error();
    return ChainHead{};
  }
  if (last->empty()) return ChainHead{};
  Result<ChainHead> head = ChainHeadAfter(*last);
  if (!head) {
    Log(LogLevel::kWarning, "audit file " + file.path() +
                                " does not end with an audit chain line; a new chain starts");
    return ChainHead{};
  }
  return head;
}

}  // namespace

AuditTrail::AuditTrail(AuditTrailOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<AuditTrail>> AuditTrail::Open(AuditTrailOptions options) {
  if (options.file.empty() && !options.journald) return std::unique_ptr<AuditTrail>();
  if (options.host.empty()) options.host = LocalHostName();
  std::unique_ptr<AuditTrail> trail(new AuditTrail(std::move(options)));
  if (!trail->options_.file.empty()) {
    Result<AuditFile> file = AuditFile::Open(trail->options_.file);
    if (!file) return std::move(file).error();
    Result<ChainHead> head = HeadOf(*file);
    if (!head) return std::move(head).error();
    trail->head_ = std::move(*head);
    trail->genesis_reason_ = "start";
    trail->file_.emplace(std::move(*file));
  }
  AuditTrail* writer = trail.get();
  trail->writer_ = std::thread([writer] { writer->WriterLoop(); });
  return trail;
}

AuditTrail::~AuditTrail() { Stop(); }

bool AuditTrail::WantsJournalCopy() {
  if (!options_.journald) return false;
  if (!file_) return true;  // the only sink: the writer reports a missing journal
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  Clock::now().time_since_epoch())
                                  .count();
  std::int64_t checked = journal_checked_ms_.load(std::memory_order_relaxed);
  if (now_ms - checked >= 1000 &&
      journal_checked_ms_.compare_exchange_strong(checked, now_ms, std::memory_order_relaxed)) {
    journal_up_.store(JournalAvailable(), std::memory_order_relaxed);
  }
  return journal_up_.load(std::memory_order_relaxed);
}

std::optional<bool> AuditTrail::TryWriteInline(Item* own) {
  if (!file_ || options_.fsync == AuditFsync::kAlways || !healthy_.load()) return std::nullopt;
  std::unique_lock<std::mutex> sink(sink_mutex_, std::try_to_lock);
  if (!sink.owns_lock()) return std::nullopt;  // the writer is at it: queue behind it
  std::vector<Item> batch;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (stopping_ || rotate_requested_ || !healthy_.load()) return std::nullopt;
    // What was queued before this record goes first: the chain keeps the order of Commit.
    for (Item& item : queue_) batch.push_back(std::move(item));
    const bool drained = !queue_.empty();
    queue_.clear();
    if (drained) WakeSpaceWaiters(lock);
  }
  const bool release = own != nullptr && own->withdraw;
  if (own != nullptr) batch.push_back(std::move(*own));
  std::vector<std::string> lines;
  const Status written = WriteFile(batch, lines);
  sink.unlock();
  if (written) {
    records_written_.fetch_add(batch.size());
    std::vector<std::pair<std::string, AuditRecord>> copies;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      LoopWaiter::Wake(std::move(batch[i].durable), true);
      if (batch[i].journal) copies.emplace_back(std::move(lines[i]), std::move(*batch[i].journal));
    }
    // fsync = "batch": tell the writer once that there is something to sync; it syncs within
    // batch_ms. The copies for journald go the same way, woken only when it sleeps.
    const bool first_unsynced =
        options_.fsync == AuditFsync::kBatch && !unsynced_.exchange(true);
    if (first_unsynced || !copies.empty()) {
      const std::lock_guard<std::mutex> lock(mutex_);
      for (auto& copy : copies) journal_copies_.push_back(std::move(copy));
      if (writer_idle_) wake_writer_.notify_one();
    }
    return true;
  }
  // The sink failed under us: the trail is down, the release is withdrawn (its caller answers
  // 503 and records that), and the rest goes back to the front of the queue for the writer's
  // retries.
  write_failures_.fetch_add(1);
  SetHealthy(false, written);
  std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
  FailWaiters(batch, lock);
  lock.lock();
  queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin()),
                std::make_move_iterator(batch.end()));
  wake_writer_.notify_one();
  return own != nullptr && !release;
}

asio::awaitable<bool> AuditTrail::Commit(std::string record_json,
                                         std::optional<AuditRecord> journal_record, Wait wait) {
  // Whoever waits below waits on the caller's own event loop.
  const asio::any_io_executor here = co_await asio::this_coro::executor;
  const bool release = wait == Wait::kRelease && options_.fail_closed;
  {
    Item own{std::move(record_json), std::move(journal_record), nullptr, release};
    if (const std::optional<bool> done = TryWriteInline(&own)) co_return *done;
    record_json = std::move(own.json);  // untouched: queue it
    journal_record = std::move(own.journal);
  }
  std::shared_ptr<LoopWaiter> durable;
  bool queued = false;
  bool accepted = false;
  while (!queued) {
    std::shared_ptr<LoopWaiter> space;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      const bool healthy = healthy_.load();
      // A release is answered only once written: while the trail is down it cannot be, and
      // its caller answers 503 (and records that) instead.
      if (release && !healthy && !stopping_) break;
      // A full queue while the sink is down would hold every refused request's answer until
      // it recovers: such records are dropped and counted instead of waited for.
      if (stopping_ || (queue_.size() >= options_.queue_size && !healthy)) {
        records_dropped_.fetch_add(1);
        break;
      }
      if (queue_.size() < options_.queue_size) {
        // Nothing waits for a write while the trail is down: refusals are answered at once.
        if (healthy && (release || (options_.fsync == AuditFsync::kAlways && file_))) {
          durable = std::make_shared<LoopWaiter>(here);
        }
        queue_.push_back(Item{std::move(record_json), std::move(journal_record), durable, release});
        if (durable) urgent_ = true;
        if (writer_idle_ || urgent_ || queue_.size() >= kWakeBatch) wake_writer_.notify_one();
        queued = true;
        accepted = !release;
      } else {
        space = std::make_shared<LoopWaiter>(here);
        space_waiters_.push_back(space);
      }
    }
    if (space) co_await space->Wait();
  }
  if (queued && durable) {
    const bool written = co_await durable->Wait();
    if (release) accepted = written;
  }
  co_return accepted;
}

asio::awaitable<bool> AuditTrail::Barrier() {
  if (!options_.fail_closed) co_return true;
  if (const std::optional<bool> done = TryWriteInline(nullptr)) co_return *done;
  const asio::any_io_executor here = co_await asio::this_coro::executor;
  std::shared_ptr<LoopWaiter> barrier;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || !healthy_.load()) co_return false;
    barrier = std::make_shared<LoopWaiter>(here);
    barriers_.push_back(barrier);
    urgent_ = true;
    wake_writer_.notify_one();
  }
  co_return co_await barrier->Wait();
}

void AuditTrail::Rotate() {
  const std::lock_guard<std::mutex> lock(mutex_);
  rotate_requested_ = true;
  wake_writer_.notify_one();
}

void AuditTrail::Stop() {
  if (stopped_.exchange(true)) return;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    wake_writer_.notify_one();
  }
  if (writer_.joinable()) writer_.join();
  std::unique_lock<std::mutex> lock(mutex_);
  WakeSpaceWaiters(lock);
  // Left when the writer gave up on a failing sink: counted, and nobody waits for them.
  records_dropped_.fetch_add(queue_.size());
  for (Item& item : queue_) LoopWaiter::Wake(std::move(item.durable));
  queue_.clear();
  for (std::shared_ptr<LoopWaiter>& barrier : barriers_) LoopWaiter::Wake(std::move(barrier));
  barriers_.clear();
}

std::size_t AuditTrail::queue_depth() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

void AuditTrail::FailWaiters(std::vector<Item>& batch, std::unique_lock<std::mutex>& lock) {
  // A release whose write failed is withdrawn: its answer becomes 503, which gets a record of
  // its own. Anything else stays to be retried; nobody waits for it past this attempt.
  std::erase_if(batch, [this](Item& item) {
    LoopWaiter::Wake(std::move(item.durable));
    return item.withdraw;
  });
  lock.lock();
  // Queued while the attempt ran, before the trail was marked down.
  std::erase_if(queue_, [this](Item& item) {
    LoopWaiter::Wake(std::move(item.durable));
    return item.withdraw;
  });
  for (std::shared_ptr<LoopWaiter>& barrier : barriers_) LoopWaiter::Wake(std::move(barrier));
  barriers_.clear();
  WakeSpaceWaiters(lock);
  lock.unlock();
}

void AuditTrail::WakeSpaceWaiters(std::unique_lock<std::mutex>& lock) {
  std::vector<std::shared_ptr<LoopWaiter>> waiters = std::move(space_waiters_);
  space_waiters_.clear();
  lock.unlock();
  for (std::shared_ptr<LoopWaiter>& waiter : waiters) LoopWaiter::Wake(std::move(waiter));
  lock.lock();
}

void AuditTrail::SetHealthy(bool healthy, const Status& why) {
  if (healthy_.exchange(healthy) == healthy) return;
  if (healthy) {
    Log(LogLevel::kWarning, "audit trail recovered; accepting requests again");
  } else {
    Log(LogLevel::kError, "audit trail cannot be written: " + Detail(why) +
                              (options_.fail_closed ? "; refusing requests until it recovers"
                                                    : "; continuing without it (fail_closed = false)"));
  }
}

void AuditTrail::WriterLoop() {
  std::vector<Item> batch;
  // fsync = "batch": when written lines must be synced; kNever when none wait. (Not an
  // optional: g++ 12 -O2 reports a false maybe-uninitialized through condition_variable.)
  constexpr Clock::time_point kNever = Clock::time_point::max();
  Clock::time_point sync_due = kNever;
  bool failing = false;
  bool napping = false;  // the last pass had records: poll every kLinger for the next ones
  // The genesis line of a new start (set by Open before this thread began).
  bool genesis_due = !genesis_reason_.empty();
  std::vector<std::pair<std::string, AuditRecord>> copies;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    const auto urgent = [&] {
      return stopping_ || rotate_requested_ || urgent_ || queue_.size() >= kWakeBatch ||
             genesis_due || !barriers_.empty();
    };
    // Fast-path writes to sync, when no sync is due yet.
    const auto has_work = [&] {
      return urgent() || !queue_.empty() || !journal_copies_.empty() ||
             (sync_due == kNever && unsynced_.load());
    };
    if (failing) {
      wake_writer_.wait_for(lock, options_.retry_interval,
                            [&] { return stopping_ || rotate_requested_; });
    } else if (napping) {
      wake_writer_.wait_for(lock, kLinger, urgent);
    } else if (!has_work()) {
      writer_idle_ = true;
      if (sync_due != kNever) {
        wake_writer_.wait_until(lock, sync_due, has_work);
      } else {
        wake_writer_.wait(lock, has_work);
      }
      writer_idle_ = false;
    }
    const bool stop = stopping_;
    const bool reopen = std::exchange(rotate_requested_, false);
    copies.swap(journal_copies_);
    std::vector<std::shared_ptr<LoopWaiter>> barriers;
    if (!failing) {
      // While failing, the kept batch is retried alone: the queue stays bounded.
      napping = !queue_.empty();
      for (Item& item : queue_) batch.push_back(std::move(item));
      queue_.clear();
      barriers = std::move(barriers_);
      barriers_.clear();
      urgent_ = false;
      WakeSpaceWaiters(lock);
    }
    lock.unlock();

    if (!copies.empty()) SendFastPathCopies(copies);
    if (options_.fsync == AuditFsync::kBatch && sync_due == kNever && unsynced_.load()) {
      sync_due = Clock::now() + options_.batch;
    }
    if (!batch.empty() || failing || reopen || genesis_due || !barriers.empty()) {
      std::unique_lock<std::mutex> sink(sink_mutex_);
      if (reopen) reopen_pending_ = true;
      Status status = WriteBatch(batch);
      if (status && file_ && options_.fsync == AuditFsync::kAlways) status = file_->Sync();
      if (status && file_ && options_.fsync == AuditFsync::kBatch && sync_due == kNever) {
        sync_due = Clock::now() + options_.batch;
      }
      sink.unlock();
      if (status) genesis_due = false;
      SetHealthy(status.ok(), status);
      if (status) {
        records_written_.fetch_add(batch.size());
        for (Item& item : batch) LoopWaiter::Wake(std::move(item.durable), true);
        batch.clear();
        for (std::shared_ptr<LoopWaiter>& barrier : barriers)
          LoopWaiter::Wake(std::move(barrier), true);
      } else {
        write_failures_.fetch_add(1);
        for (std::shared_ptr<LoopWaiter>& barrier : barriers) LoopWaiter::Wake(std::move(barrier));
        FailWaiters(batch, lock);
      }
      failing = !status.ok();
    }
    if (sync_due != kNever && (stop || Clock::now() >= sync_due)) {
      sync_due = kNever;
      unsynced_.store(false);  // a fast-path write after this sets it again
      std::unique_lock<std::mutex> sink(sink_mutex_);
      Status synced = file_->Sync();
      sink.unlock();
      if (!synced) {
        write_failures_.fetch_add(1);
        SetHealthy(false, synced);
        FailWaiters(batch, lock);
        failing = true;
      }
    }
    if (stop && (batch.empty() || failing)) {
      if (!batch.empty()) {
        records_dropped_.fetch_add(batch.size());
        Log(LogLevel::kError, std::to_string(batch.size()) +
                                  " audit records could not be written before shutdown");
      }
      break;
    }
    lock.lock();
  }
}

Status AuditTrail::WriteBatch(std::vector<Item>& batch) {
  std::vector<std::string> lines;
  if (file_) {
    if (Status written = WriteFile(batch, lines); !written) return written;
  } else {
    for (const Item& item : batch) lines.push_back(ChainAuditLine(head_, item.json));
  }
  Status status = Status::Ok();
  if (options_.journald) SendJournalCopies(batch, lines, status);
  return status;
}

Status AuditTrail::WriteFile(const std::vector<Item>& batch, std::vector<std::string>& lines) {
  if (reopen_pending_) {
    Result<AuditFile::Change> reopened = file_->Reopen();
    if (!reopened) return std::move(reopened).error();
    reopen_pending_ = false;
    if (*reopened == AuditFile::Change::kNewFile) genesis_reason_ = "rotate";
  }
  Result<AuditFile::Change> change = file_->Check();
  if (!change) return std::move(change).error();
  if (*change == AuditFile::Change::kTruncated) genesis_reason_ = "copytruncate";
  if (*change == AuditFile::Change::kNewFile && genesis_reason_.empty()) genesis_reason_ = "reopen";
  ChainHead head = head_;
  std::string data;
  if (!genesis_reason_.empty()) {
    data += GenesisAuditLine(head, NowUnixMicros(), options_.host, genesis_reason_);
    data += '\n';
  }
  lines.reserve(batch.size());
  for (const Item& item : batch) {
    lines.push_back(ChainAuditLine(head, item.json));
    data += lines.back();
    data += '\n';
  }
  if (Status appended = file_->Append(data); !appended) {
    lines.clear();
    return appended;
  }
  head_ = std::move(head);
  genesis_reason_.clear();
  return Status::Ok();
}

void AuditTrail::SendJournalCopies(std::vector<Item>& batch, const std::vector<std::string>& lines,
                                   Status& status) {
  // Beside a file, journald is a copy: its failures are counted, never fatal. Alone, it is the
  // trail, and what it did not take is kept for the retry.
  const bool required = !file_;
  if (!JournalAvailable()) {
    // libsystemd would report success and drop the entries: say so when journald is the trail,
    // and skip the calls when it is a copy.
    if (required) {
      status = MakeError(Errc::kAuditUnavailable, "the audit trail cannot be written",
                         "journald is the only audit sink and /run/systemd/journal/socket is "
                         "absent");
    }
    return;
  }
  std::size_t sent = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!batch[i].journal) continue;
    Status one = SendJournalEntry(*batch[i].journal, lines[i]);
    if (one) {
      ++sent;
      continue;
    }
    if (required) {
      status = std::move(one);
      for (std::size_t j = 0; j < sent; ++j) LoopWaiter::Wake(std::move(batch[j].durable), true);
      records_written_.fetch_add(sent);
      batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(sent));
      return;
    }
    CountJournalFailure(one);
  }
}

void AuditTrail::SendFastPathCopies(std::vector<std::pair<std::string, AuditRecord>>& copies) {
  if (JournalAvailable()) {
    for (auto& [line, record] : copies) {
      if (Status one = SendJournalEntry(record, line); !one) CountJournalFailure(one);
    }
  }
  copies.clear();
}

void AuditTrail::CountJournalFailure(const Status& failed) {
  if (journal_failures_.fetch_add(1) == 0) {
    Log(LogLevel::kWarning, "cannot copy audit records to journald: " + Detail(failed) +
                                " (the audit file is unaffected; counted from now on)");
  }
}

}  // namespace dbproxy
