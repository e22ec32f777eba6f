// RuntimeState: the operator's runtime decisions, kept in <state_dir>: grants.json (roles given
// to services, common/grants.hpp) and maintenance.json (access switched off,
// common/maintenance.hpp).
//
// Every mutation builds the new set on a copy, writes the whole file atomically
// (AtomicWriteFile, mode 0600) and only then replaces the in-memory set: if the write fails,
// nothing changed, so memory and disk never disagree. A failed mutation leaves the old file.
//
// Threading: mutations, and grants()/maintenance(), on the main event loop only. Mutations do
// their fsyncs on that thread: the files are a few KiB and admin changes are rare. Requests on
// any event loop read through Pin(): the sets are immutable snapshots, replaced whole under a
// mutex, so a request decides with the sets it pinned even while an operator changes them.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/policy/decide.hpp"
#include "common/runtime/grants.hpp"
#include "common/runtime/maintenance.hpp"
#include "common/core/result.hpp"

namespace dbproxy {

class RuntimeState {
 public:
  // Reads <state_dir>/grants.json and <state_dir>/maintenance.json. A missing file is an empty
  // set. A file that cannot be read or parsed is an error whose message names the file and what
  // is wrong (kCorrupt for bad contents): the agent refuses to start rather than silently drop
  // an operator's switch. Expired entries are kept until Prune().
  // REQUIRES: state_dir exists when a mutation is made (the agent creates it at start-up).
  static Result<std::unique_ptr<RuntimeState>> Load(const std::string& state_dir);

  RuntimeState(const RuntimeState&) = delete;
  RuntimeState& operator=(const RuntimeState&) = delete;

  // The sets a request decides with, pinned: they outlive any change made meanwhile.
  struct Pinned {
    std::shared_ptr<const GrantSet> grants;
    std::shared_ptr<const MaintenanceSet> maintenance;
    RuntimeView view() const { return {.grants = grants.get(), .maintenance = maintenance.get()}; }
  };
  // Any thread.
  Pinned Pin() const;

  // Main event loop only (where the mutations run).
  const GrantSet& grants() const { return *grants_; }
  const MaintenanceSet& maintenance() const { return *maintenance_; }

  // GrantSet::Add (replaces the same service+role), then save. Errors: Add's, or kInternal
  // "cannot save runtime grants" (the reason, with the path, in log_detail).
  Status Grant(dbproxy::Grant grant);
  // GrantSet::Remove, then save; returns the removed grant. kNotFound when there is none.
  Result<dbproxy::Grant> Revoke(std::string_view service, std::string_view role);
  // MaintenanceSet::Set, then save. Errors like Grant's.
  Status SetMaintenance(MaintenanceEntry entry);
  // MaintenanceSet::Clear, then save; returns the cleared entry. kNotFound when not set.
  Result<MaintenanceEntry> ClearMaintenance(MaintenanceScope scope, std::string_view target);
  // Drops grants and switches that are no longer active at `now`; writes only a file whose set
  // changed. On error the in-memory sets are those of the files on disk.
  Status Prune(std::int64_t now);

  const std::string& grants_path() const { return grants_path_; }
  const std::string& maintenance_path() const { return maintenance_path_; }

 private:
  RuntimeState(std::string state_dir, GrantSet grants, MaintenanceSet maintenance);
  Status Commit(GrantSet next);
  Status Commit(MaintenanceSet next);

  std::string grants_path_;
  std::string maintenance_path_;
  // Replaced whole (never changed in place), under mutex_; read without it on the main loop.
  mutable std::mutex mutex_;
  std::shared_ptr<const GrantSet> grants_;
  std::shared_ptr<const MaintenanceSet> maintenance_;
};

}  // namespace dbproxy
