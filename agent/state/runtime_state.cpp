#include "agent/state/runtime_state.hpp"

#include <span>
#include <utility>

#include "common/os/files.hpp"

namespace dbproxy {
namespace {

// A full set is a few MiB at most (kMaxGrants entries of bounded size); anything larger is not
// ours to parse.
constexpr std::size_t kMaxStateFileBytes = std::size_t{8} << 20;
constexpr mode_t kStateFileMode = 0600;

// The set stored in `path`, an empty one when the file does not exist.
template <class Set>
Result<Set> LoadSet(const std::string& path) {
  Result<std::string> text = ReadFileText(path, kMaxStateFileBytes);
  if (!text) {
    if (text.error().code == Errc::kNotFound) return Set();
    return std::move(text).error();  // its message names the file already
  }
  Result<Set> parsed = Set::Parse(*text);
  if (!parsed) {
    return MakeError(Errc::kCorrupt, path + " is invalid (" + parsed.error().message +
                                         "); fix or remove the file, it was not changed");
  }
  return parsed;
}

Status Save(const std::string& path, const std::string& text, const char* what) {
  const std::span<const unsigned char> bytes(reinterpret_cast<const unsigned char*>(text.data()),
                                             text.size());
  Status written = AtomicWriteFile(path, bytes, kStateFileMode);
  if (!written) {
    // The client learns that saving failed; the path and errno go to the log only.
    return MakeError(Errc::kInternal, std::string("cannot save ") + what,
                     written.error().log_detail.empty() ? written.error().message
                                                        : written.error().log_detail);
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<RuntimeState>> RuntimeState::Load(const std::string& state_dir) {
  Result<GrantSet> grants = LoadSet<GrantSet>(state_dir + "/grants.json");
  if (!grants) return std::move(grants).error();
  Result<MaintenanceSet> maintenance = LoadSet<MaintenanceSet>(state_dir + "/maintenance.json");
  if (!maintenance) return std::move(maintenance).error();
  return std::unique_ptr<RuntimeState>(
      new RuntimeState(state_dir, std::move(*grants), std::move(*maintenance)));
}

RuntimeState::RuntimeState(std::string state_dir, GrantSet grants, MaintenanceSet maintenance)
    : grants_path_(state_dir + "/grants.json"),
      maintenance_path_(state_dir + "/maintenance.json"),
      grants_(std::make_shared<const GrantSet>(std::move(grants))),
      maintenance_(std::make_shared<const MaintenanceSet>(std::move(maintenance))) {}

RuntimeState::Pinned RuntimeState::Pin() const {
  std::lock_guard lock(mutex_);
  return Pinned{.grants = grants_, .maintenance = maintenance_};
}

Status RuntimeState::Commit(GrantSet next) {
  if (Status saved = Save(grants_path_, next.Serialize(), "runtime grants"); !saved) return saved;
  auto replacement = std::make_shared<const GrantSet>(std::move(next));
  std::lock_guard lock(mutex_);
  grants_ = std::move(replacement);
  return Status::Ok();
}

Status RuntimeState::Commit(MaintenanceSet next) {
  if (Status saved = Save(maintenance_path_, next.Serialize(), "maintenance switches"); !saved) {
    return saved;
  }
  auto replacement = std::make_shared<const MaintenanceSet>(std::move(next));
  std::lock_guard lock(mutex_);
  maintenance_ = std::move(replacement);
  return Status::Ok();
}

Status RuntimeState::Grant(dbproxy::Grant grant) {
  GrantSet next = *grants_;
  if (Status added = next.Add(std::move(grant)); !added) return added;
  return Commit(std::move(next));
}

Result<dbproxy::Grant> RuntimeState::Revoke(std::string_view service, std::string_view role) {
  GrantSet next = *grants_;
  Result<dbproxy::Grant> removed = next.Remove(service, role);
  if (!removed) return removed;
  if (Status saved = Commit(std::move(next)); !saved) return std::move(saved).error();
  return removed;
}

Status RuntimeState::SetMaintenance(MaintenanceEntry entry) {
  MaintenanceSet next = *maintenance_;
  if (Status set = next.Set(std::move(entry)); !set) return set;
  return Commit(std::move(next));
}

Result<MaintenanceEntry> RuntimeState::ClearMaintenance(MaintenanceScope scope,
                                                        std::string_view target) {
  MaintenanceSet next = *maintenance_;
  Result<MaintenanceEntry> cleared = next.Clear(scope, target);
  if (!cleared) return cleared;
  if (Status saved = Commit(std::move(next)); !saved) return std::move(saved).error();
  return cleared;
}

Status RuntimeState::Prune(std::int64_t now) {
  GrantSet grants = *grants_;
  if (grants.PruneExpired(now)) {
    if (Status saved = Commit(std::move(grants)); !saved) return saved;
  }
  MaintenanceSet maintenance = *maintenance_;
  if (maintenance.PruneExpired(now)) {
    if (Status saved = Commit(std::move(maintenance)); !saved) return saved;
  }
  return Status::Ok();
}

}  // namespace dbproxy
