#include "common/policy/actions.hpp"

#include <array>

#include "common/oauth/oauth.hpp"
#include "common/policy/policy.hpp"

namespace dbproxy {
namespace {

constexpr std::array<std::string_view, 25> kActions = {
    "jobs.read",        "jobs.run",          "jobs.manage",      "clusters.read",
    "clusters.manage",  "sql.execute",       "sql.read",         "warehouses.read",
    "warehouses.manage", "uc.read",          "uc.write",         "uc.credentials",
    "scim.me",          "workspace.read",    "workspace.write",  "dbfs.read",
    "dbfs.write",       "tokens.manage",     "secrets.read",     "secrets.manage",
    "permissions.manage", "commands.execute", "serving.query",   "serving.manage",
    "api.unknown",
};

struct ScopeMapping {
  std::string_view api;                  // scope base name
  std::vector<std::string_view> all;     // reached by the plain scope
  std::vector<std::string_view> read;    // reached by "<api>:read"
};

const std::vector<ScopeMapping>& Mappings() {
  static const std::vector<ScopeMapping> kMappings = {
      {"sql", {"sql.*", "warehouses.*"}, {"sql.read", "warehouses.read"}},
      {"clusters", {"clusters.*"}, {"clusters.read"}},
      {"jobs", {"jobs.*"}, {"jobs.read"}},
      {"unity-catalog", {"uc.*"}, {"uc.read"}},
      {"scim", {"scim.*"}, {"scim.me"}},
      {"workspace", {"workspace.*"}, {"workspace.read"}},
      {"files", {"dbfs.*"}, {"dbfs.read"}},
      {"access-management", {"permissions.*"}, {}},
      {"authentication", {"tokens.*"}, {}},
      {"serving-endpoints", {"serving.*"}, {"serving.query"}},
  };
  return kMappings;
}

}  // namespace

std::span<const std::string_view> KnownActions() { return kActions; }

int KnownActionIndex(std::string_view action) {
  for (std::size_t i = 0; i < kActions.size(); ++i) {
    if (kActions[i] == action) return static_cast<int>(i);
  }
  return -1;
}

bool MayMatchTokenAction(std::string_view pattern) {
  const std::string_view prefix = pattern.substr(0, pattern.find('*'));
  constexpr std::string_view kToken = "token:";
  return prefix.size() <= kToken.size() ? kToken.starts_with(prefix) : prefix.starts_with(kToken);
}

bool IsKnownActionPattern(std::string_view pattern) {
  if (pattern == "*") return true;
  if (pattern.starts_with("token:")) {
    return pattern.find_first_not_of(' ', 6) != std::string_view::npos;
  }
  for (std::string_view known : kActions) {
    if (ActionMatches(pattern, known)) return true;
  }
  return false;
}

Result<std::string> NormalizeActionPattern(std::string_view pattern) {
  if (!IsKnownActionPattern(pattern)) {
    return MakeError(Errc::kInvalidRequest, "unknown action '" + std::string(pattern) + "'");
  }
  if (!pattern.starts_with("token:") || pattern.find('*') != std::string_view::npos) {
    return std::string(pattern);
  }
  Result<std::string> scope = CanonicalScope(pattern.substr(6));
  if (!scope) return std::move(scope).error();
  if (scope->empty()) return MakeError(Errc::kInvalidRequest, "token action has an empty scope");
  return "token:" + *scope;
}

std::vector<std::string> ScopeReach(std::string_view scope) {
  std::vector<std::string> reach;
  std::size_t start = 0;
  while (start < scope.size()) {
    std::size_t end = scope.find(' ', start);
    if (end == std::string_view::npos) end = scope.size();
    const std::string_view item = scope.substr(start, end - start);
    start = end + 1;
    if (item.empty() || item == "openid" || item == "email" || item == "profile" ||
        item == "offline_access") {
      continue;
    }
    const std::string_view api = item.substr(0, item.find(':'));
    const bool read_only = item.find(":read") != std::string_view::npos;
    const ScopeMapping* mapping = nullptr;
    for (const ScopeMapping& candidate : Mappings()) {
      if (candidate.api == api) mapping = &candidate;
    }
    if (item == "all-apis" || mapping == nullptr) return {"*"};  // unknown: assume the worst
    for (std::string_view pattern : read_only ? mapping->read : mapping->all) {
      reach.emplace_back(pattern);
    }
  }
  return reach;
}

}  // namespace dbproxy
