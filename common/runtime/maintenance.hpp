// The maintenance switch: an operator turns access off globally, for one service or for one
// workspace, with a reason and optionally until a point in time. The model and the byte format
// of maintenance.json; the agent does the file I/O (agent/runtime_state.hpp).
//
// maintenance.json, exactly this shape (keys in any order, no others):
//   {"version":1,"maintenance":[{"scope":"service","target":"billing-etl","reason":"migration",
//     "set_by":"alice","since":1767225600,"until":null}]}
// "target" is null for the global scope and a valid name otherwise; "until" is null when the
// switch stays on until it is turned off. An entry applies while now < until.
//
// Pure (time is passed in). Not synchronised: one owner, or share it immutable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/core/result.hpp"

namespace dbproxy {

enum class MaintenanceScope { kGlobal, kService, kWorkspace };

// "global", "service", "workspace".
std::string_view ScopeName(MaintenanceScope scope);
// The inverse of ScopeName; nullopt for anything else (case-sensitive).
std::optional<MaintenanceScope> ParseScope(std::string_view name);

inline constexpr std::size_t kMaxMaintenanceReasonBytes = 512;
inline constexpr std::size_t kMaxMaintenanceEntries = 4096;
// Retry-After for callers refused by a switch without an end time.
inline constexpr int kMaintenanceRetryAfterSeconds = 60;

struct MaintenanceEntry {
  MaintenanceScope scope = MaintenanceScope::kGlobal;
  std::string target;  // service or workspace name; empty for kGlobal
  std::string reason;  // free text, may be empty
  std::string set_by;  // the operator's user name, or "uid:N"
  std::int64_t since = 0;
  std::int64_t until = 0;  // 0 = until switched off

  bool ActiveAt(std::int64_t now) const { return until == 0 || now < until; }
  bool operator==(const MaintenanceEntry&) const = default;
};

// OK when `entry` may be stored: target empty for kGlobal and a valid name (IsValidName)
// otherwise, reason printable text of at most kMaxMaintenanceReasonBytes, set_by 1..256 bytes
// of printable text, since >= 0, until 0 or later than since.
// Errors: kInvalidRequest naming the field.
Status ValidateMaintenanceEntry(const MaintenanceEntry& entry);

// {"scope","target"(null for global),"reason","set_by","since","until"(null when none)}.
nlohmann::json MaintenanceEntryToJson(const MaintenanceEntry& entry);

// The error a caller refused by `entry` gets at `now`: kMaintenance, a message naming the scope
// and quoting the reason, rule "maintenance:<scope>[:<target>]", and retry_after_seconds =
// the time left until `until` (at least 1), or kMaintenanceRetryAfterSeconds without an end.
Error MaintenanceError(const MaintenanceEntry& entry, std::int64_t now);

class MaintenanceSet {
 public:
  // Adds `entry`, replacing the one with the same scope and target.
  // Errors: ValidateMaintenanceEntry's; kConflict when kMaxMaintenanceEntries exist already.
  Status Set(MaintenanceEntry entry);
  // Removes and returns the entry for (scope, target); target is ignored for kGlobal.
  // kNotFound when there is none (an expired entry not yet pruned still counts as one).
  Result<MaintenanceEntry> Clear(MaintenanceScope scope, std::string_view target);
  // The entry that switches off `service` in `workspace` at `now`: the global one first, then
  // the service's, then the workspace's. Expired entries never match; empty names match nothing.
  std::optional<MaintenanceEntry> Find(std::string_view service, std::string_view workspace,
                                       std::int64_t now) const;
  // Drops entries no longer active at `now`; true when anything was removed.
  bool PruneExpired(std::int64_t now);

  // Sorted by (scope, target).
  const std::vector<MaintenanceEntry>& entries() const { return entries_; }

  // The maintenance.json text described above (compact, with a final newline).
  std::string Serialize() const;
  // Parses maintenance.json text. Strict: wrong version, unknown or missing keys, wrong types,
  // an unknown scope, an invalid entry, a duplicate (scope, target) or too many entries are
  // kCorrupt, with a message saying which entry and field.
  static Result<MaintenanceSet> Parse(std::string_view json);

 private:
  const MaintenanceEntry* FindActive(MaintenanceScope scope, std::string_view target,
                                     std::int64_t now) const;

  std::vector<MaintenanceEntry> entries_;
};

}  // namespace dbproxy
