#include "common/policy/actions.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "common/oauth/oauth.hpp"
#include "common/policy/policy.hpp"

namespace dbproxy {
namespace {

constexpr std::array<std::string_view, 70> kActions = {
    "jobs.read",          "jobs.run",           "jobs.manage",        "clusters.read",
    "clusters.manage",    "sql.execute",        "sql.read",           "warehouses.read",
    "warehouses.manage",  "uc.read",            "uc.write",           "uc.credentials",
    "scim.me",            "workspace.read",     "workspace.write",    "dbfs.read",
    "dbfs.write",         "tokens.manage",      "secrets.read",       "secrets.manage",
    "permissions.manage", "commands.execute",   "serving.query",      "serving.manage",
    "jobs.submit",        "sql.cancel",         "secrets.list",       "permissions.read",
    "tokens.read",        "files.read",         "files.write",        "mlflow.read",
    "mlflow.write",       "mlflow.credentials", "repos.read",         "repos.write",
    "git.credentials",    "pipelines.read",     "pipelines.run",      "pipelines.manage",
    "scim.read",          "scim.admin",         "libraries.read",     "libraries.install",
    "policies.read",      "policies.manage",    "pools.read",         "pools.manage",
    "queries.read",       "queries.write",      "alerts.read",        "alerts.write",
    "dashboards.read",    "dashboards.write",   "genie.read",         "genie.query",
    "genie.manage",       "vectorsearch.read",  "vectorsearch.query", "vectorsearch.write",
    "apps.read",          "apps.manage",        "initscripts.read",   "initscripts.manage",
    "settings.read",      "settings.manage",    "database.read",      "database.manage",
    "database.credentials", "api.unknown",
};
static_assert(kActions.size() <= kMaxKnownActions);

// What each Databricks API scope reaches, in our actions. Sources: the workspace "API scopes"
// reference and the "API scopes:" line of each REST call. A ":read" list holds every action
// that some GET of the family is classified as (unity-catalog:read reaches the GETs that vend
// credentials, workspace:read the listing of Git credentials). The one exception: the 1.2
// command status GETs (classified commands.execute) are left out of clusters:read.
struct ScopeMapping {
  std::string_view api;                        // scope base name
  std::vector<std::string_view> all;           // reached by the plain scope
  std::vector<std::string_view> read;          // reached by "<api>:read"
  std::vector<std::string_view> restricted{};  // reached by "sql:restricted-query"
};

const std::vector<ScopeMapping>& Mappings() {
  static const std::vector<ScopeMapping> kMappings = {
      // SQL runs GRANT and DDL, reads secrets (secret()), calls models (ai_query) and reads and
      // writes volumes; read-only queries still read tables, volumes, secrets and models.
      {"sql",
       {"sql.*", "warehouses.*", "queries.*", "alerts.*", "uc.read", "uc.write",
        "permissions.manage", "files.read", "files.write", "secrets.read", "serving.query"},
       {"sql.read", "warehouses.read", "queries.read", "alerts.read"},
       {"sql.execute", "sql.read", "sql.cancel", "uc.read", "files.read", "secrets.read",
        "serving.query"}},
      {"clusters",
       {"clusters.*", "libraries.*", "commands.execute", "pools.*", "policies.*"},
       {"clusters.read", "libraries.read", "pools.read", "policies.read"}},
      {"jobs", {"jobs.*"}, {"jobs.read"}},
      {"unity-catalog", {"uc.*", "permissions.manage"}, {"uc.read", "uc.credentials"}},
      {"scim", {"scim.*"}, {"scim.me", "scim.read"}},
      {"workspace",
       {"workspace.*", "repos.*", "git.credentials"},
       {"workspace.read", "repos.read", "git.credentials"}},
      {"files", {"files.*", "dbfs.*"}, {"files.read", "dbfs.read"}},
      {"secrets", {"secrets.*"}, {"secrets.read", "secrets.list"}},
      {"access-management",
       {"permissions.*", "scim.*"},
       {"permissions.read", "scim.me", "scim.read"}},
      {"authentication", {"tokens.*"}, {"tokens.read"}},
      {"serving-endpoints", {"serving.*"}, {"serving.query"}},
      {"pipelines", {"pipelines.*"}, {"pipelines.read"}},
      {"mlflow", {"mlflow.*"}, {"mlflow.read", "mlflow.credentials"}},
      {"dashboards", {"dashboards.*"}, {"dashboards.read"}},
      {"alerts", {"alerts.*"}, {"alerts.read"}},
      {"apps", {"apps.*"}, {"apps.read"}},
      {"genie", {"genie.*"}, {"genie.read"}},
      {"vector-search", {"vectorsearch.*"}, {"vectorsearch.read"}},
  };
  return kMappings;
}

const ScopeMapping* FindScopeMapping(std::string_view api) {
  for (const ScopeMapping& candidate : Mappings()) {
    if (candidate.api == api) return &candidate;
  }
  return nullptr;
}

// The modifiers of one scope item, parsed exactly: "read" and "restricted-query", each at most
// once. nullopt for anything else ("reader", "read:read", an empty modifier).
struct ScopeModifiers {
  bool read = false;
  bool restricted_query = false;
};

std::optional<ScopeModifiers> ParseScopeModifiers(std::string_view rest) {
  ScopeModifiers modifiers;
  while (!rest.empty()) {
    rest.remove_prefix(1);  // the ':'
    const std::size_t colon = rest.find(':');
    const std::string_view modifier = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon);
    bool* flag = modifier == "read"               ? &modifiers.read
                 : modifier == "restricted-query" ? &modifiers.restricted_query
                                                  : nullptr;
    if (flag == nullptr || *flag) return std::nullopt;
    *flag = true;
  }
  return modifiers;
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
    if (item == "all-apis") return {"*"};
    const std::size_t colon = item.find(':');
    const ScopeMapping* mapping = FindScopeMapping(item.substr(0, colon));
    const std::optional<ScopeModifiers> modifiers =
        ParseScopeModifiers(colon == std::string_view::npos ? std::string_view()
                                                            : item.substr(colon));
    // Unknown scopes and modifiers: assume the worst.
    if (mapping == nullptr || !modifiers) return {"*"};
    if (modifiers->restricted_query && mapping->restricted.empty()) return {"*"};
    std::vector<std::string_view> patterns;
    if (!modifiers->read && !modifiers->restricted_query) patterns = mapping->all;
    if (modifiers->read) patterns = mapping->read;
    if (modifiers->restricted_query) {
      patterns.insert(patterns.end(), mapping->restricted.begin(), mapping->restricted.end());
    }
    for (std::string_view pattern : patterns) {
      if (std::find(reach.begin(), reach.end(), pattern) == reach.end()) {
        reach.emplace_back(pattern);
      }
    }
  }
  return reach;
}

}  // namespace dbproxy
