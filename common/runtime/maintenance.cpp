#include "common/runtime/maintenance.hpp"

#include <algorithm>
#include <tuple>

#include <nlohmann/json.hpp>

#include "common/store/credential_store_format.hpp"
#include "common/core/duration.hpp"
#include "common/runtime/grants.hpp"
#include "common/core/json_fields.hpp"

namespace dbproxy {
namespace {

bool EntryBefore(const MaintenanceEntry& a, const MaintenanceEntry& b) {
  return std::tie(a.scope, a.target) < std::tie(b.scope, b.target);
}

bool SameEntryKey(const MaintenanceEntry& a, const MaintenanceEntry& b) {
  return a.scope == b.scope && a.target == b.target;
}

Result<MaintenanceEntry> EntryFromJson(const nlohmann::json& value, const JsonContext& context) {
  if (Status keys = CheckObjectKeys(
          value, {"scope", "target", "reason", "set_by", "since", "until"}, context);
      !keys) {
    return std::move(keys).error();
  }
  Result<std::string> scope_name = ReadString(value, "scope", 16, context);
  if (!scope_name) return std::move(scope_name).error();
  const std::optional<MaintenanceScope> scope = ParseScope(*scope_name);
  if (!scope) return MakeError(context.code, context.where + ": unknown 'scope'");
  std::string target;
  const auto target_it = value.find("target");
  if (*scope == MaintenanceScope::kGlobal) {
    if (target_it == value.end() || !target_it->is_null()) {
      return MakeError(context.code, context.where + ": 'target' must be null for global");
    }
  } else {
    Result<std::string> named = ReadString(value, "target", 64, context);
    if (!named) return std::move(named).error();
    target = std::move(*named);
  }
  Result<std::string> reason = ReadString(value, "reason", kMaxMaintenanceReasonBytes, context);
  if (!reason) return std::move(reason).error();
  Result<std::string> set_by = ReadString(value, "set_by", kMaxActorBytes, context);
  if (!set_by) return std::move(set_by).error();
  Result<std::int64_t> since = ReadCount(value, "since", context);
  if (!since) return std::move(since).error();
  Result<std::optional<std::int64_t>> until = ReadCountOrNull(value, "until", context);
  if (!until) return std::move(until).error();
  if (until->has_value() && **until == 0) {
    return MakeError(context.code, context.where + ": 'until' is null when there is none");
  }
  MaintenanceEntry entry{.scope = *scope,
                         .target = std::move(target),
                         .reason = std::move(*reason),
                         .set_by = std::move(*set_by),
                         .since = *since,
                         .until = until->value_or(0)};
  if (Status valid = ValidateMaintenanceEntry(entry); !valid) {
    return MakeError(context.code, context.where + ": " + valid.error().message);
  }
  return entry;
}

}  // namespace

std::string_view ScopeName(MaintenanceScope scope) {
  switch (scope) {
    case MaintenanceScope::kGlobal:
      return "global";
    case MaintenanceScope::kService:
      return "service";
    case MaintenanceScope::kWorkspace:
      return "workspace";
  }
  return "global";
}

std::optional<MaintenanceScope> ParseScope(std::string_view name) {
  for (MaintenanceScope scope :
       {MaintenanceScope::kGlobal, MaintenanceScope::kService, MaintenanceScope::kWorkspace}) {
    if (ScopeName(scope) == name) return scope;
  }
  return std::nullopt;
}

Status ValidateMaintenanceEntry(const MaintenanceEntry& entry) {
  if (entry.scope == MaintenanceScope::kGlobal) {
    if (!entry.target.empty()) return InvalidRequest("a global switch has no target");
  } else if (!IsValidName(entry.target)) {
    return InvalidRequest(std::string(ScopeName(entry.scope)) +
                   " name must match [A-Za-z0-9._-]{1,64}");
  }
  if (entry.reason.size() > kMaxMaintenanceReasonBytes || !IsPrintableText(entry.reason)) {
    return InvalidRequest("reason must be printable text of at most 512 bytes");
  }
  if (entry.set_by.empty() || entry.set_by.size() > kMaxActorBytes ||
      !IsPrintableText(entry.set_by)) {
    return InvalidRequest("set_by must be printable text of 1 to 256 bytes");
  }
  if (entry.since < 0) return InvalidRequest("since must not be negative");
  if (entry.until != 0 && entry.until <= entry.since) {
    return InvalidRequest("until must be later than since");
  }
  return Status::Ok();
}

nlohmann::json MaintenanceEntryToJson(const MaintenanceEntry& entry) {
  return {{"scope", ScopeName(entry.scope)},
          {"target", entry.scope == MaintenanceScope::kGlobal ? nlohmann::json(nullptr)
                                                              : nlohmann::json(entry.target)},
          {"reason", entry.reason},
          {"set_by", entry.set_by},
          {"since", entry.since},
          {"until", entry.until == 0 ? nlohmann::json(nullptr) : nlohmann::json(entry.until)}};
}

Error MaintenanceError(const MaintenanceEntry& entry, std::int64_t now) {
  std::string what = "access is switched off for maintenance";
  std::string rule = "maintenance:" + std::string(ScopeName(entry.scope));
  if (entry.scope != MaintenanceScope::kGlobal) {
    what += " of " + std::string(ScopeName(entry.scope)) + " '" + entry.target + "'";
    rule += ":" + entry.target;
  }
  if (!entry.reason.empty()) what += ": " + entry.reason;
  int retry_after = kMaintenanceRetryAfterSeconds;
  if (entry.until != 0) {
    const std::int64_t left = std::max<std::int64_t>(1, entry.until - now);
    what += " (ends in " + FormatDuration(left) + ")";
    retry_after = static_cast<int>(std::min<std::int64_t>(left, kMaxDurationSeconds));
  }
  Error error = MakeError(Errc::kMaintenance, std::move(what));
  error.rule = std::move(rule);
  error.retry_after_seconds = retry_after;
  return error;
}

Status MaintenanceSet::Set(MaintenanceEntry entry) {
  if (Status valid = ValidateMaintenanceEntry(entry); !valid) return valid;
  const auto it = std::lower_bound(entries_.begin(), entries_.end(), entry, EntryBefore);
  if (it != entries_.end() && SameEntryKey(*it, entry)) {
    *it = std::move(entry);
    return Status::Ok();
  }
  if (entries_.size() >= kMaxMaintenanceEntries) {
    return MakeError(Errc::kConflict, "too many maintenance switches; clear some first");
  }
  entries_.insert(it, std::move(entry));
  return Status::Ok();
}

Result<MaintenanceEntry> MaintenanceSet::Clear(MaintenanceScope scope, std::string_view target) {
  if (scope == MaintenanceScope::kGlobal) target = {};
  const auto it = std::find_if(entries_.begin(), entries_.end(), [&](const MaintenanceEntry& e) {
    return e.scope == scope && e.target == target;
  });
  if (it == entries_.end()) {
    std::string what = "maintenance is not switched on";
    if (scope != MaintenanceScope::kGlobal) {
      what += " for " + std::string(ScopeName(scope)) + " '" + std::string(target) + "'";
    } else {
      what += " globally";
    }
    return MakeError(Errc::kNotFound, std::move(what));
  }
  MaintenanceEntry removed = std::move(*it);
  entries_.erase(it);
  return removed;
}

const MaintenanceEntry* MaintenanceSet::FindActive(MaintenanceScope scope,
                                                   std::string_view target,
                                                   std::int64_t now) const {
  for (const MaintenanceEntry& entry : entries_) {
    if (entry.scope == scope && entry.target == target && entry.ActiveAt(now)) return &entry;
  }
  return nullptr;
}

std::optional<MaintenanceEntry> MaintenanceSet::Find(std::string_view service,
                                                     std::string_view workspace,
                                                     std::int64_t now) const {
  const MaintenanceEntry* found = FindActive(MaintenanceScope::kGlobal, "", now);
  if (found == nullptr && !service.empty()) {
    found = FindActive(MaintenanceScope::kService, service, now);
  }
  if (found == nullptr && !workspace.empty()) {
    found = FindActive(MaintenanceScope::kWorkspace, workspace, now);
  }
  if (found == nullptr) return std::nullopt;
  return *found;
}

bool MaintenanceSet::PruneExpired(std::int64_t now) {
  const std::size_t before = entries_.size();
  std::erase_if(entries_, [now](const MaintenanceEntry& e) { return !e.ActiveAt(now); });
  return entries_.size() != before;
}

std::string MaintenanceSet::Serialize() const {
  nlohmann::json list = nlohmann::json::array();
  for (const MaintenanceEntry& entry : entries_) list.push_back(MaintenanceEntryToJson(entry));
  const nlohmann::json doc = {{"version", 1}, {"maintenance", std::move(list)}};
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<MaintenanceSet> MaintenanceSet::Parse(std::string_view json) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded()) return MakeError(Errc::kCorrupt, "maintenance: not valid JSON");
  const JsonContext top{.code = Errc::kCorrupt, .where = "maintenance"};
  if (Status keys = CheckObjectKeys(doc, {"version", "maintenance"}, top); !keys) {
    return std::move(keys).error();
  }
  Result<std::int64_t> version = ReadCount(doc, "version", top);
  if (!version) return std::move(version).error();
  if (*version != 1) {
    return MakeError(Errc::kCorrupt,
                     "maintenance: unsupported version " + std::to_string(*version));
  }
  const auto list = doc.find("maintenance");
  if (list == doc.end() || !list->is_array()) {
    return MakeError(Errc::kCorrupt, "maintenance: 'maintenance' must be an array");
  }
  if (list->size() > kMaxMaintenanceEntries) {
    return MakeError(Errc::kCorrupt, "maintenance: too many entries");
  }
  MaintenanceSet set;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const JsonContext context{.code = Errc::kCorrupt,
                              .where = "maintenance: entry " + std::to_string(i + 1)};
    Result<MaintenanceEntry> entry = EntryFromJson((*list)[i], context);
    if (!entry) return std::move(entry).error();
    const auto it = std::lower_bound(set.entries_.begin(), set.entries_.end(), *entry, EntryBefore);
    if (it != set.entries_.end() && SameEntryKey(*it, *entry)) {
      return MakeError(Errc::kCorrupt, context.where + ": duplicate of an earlier entry");
    }
    set.entries_.insert(it, std::move(*entry));
  }
  return set;
}

}  // namespace dbproxy
