#include "tests/fake_workspace/oauth/scopes.hpp"

#include <algorithm>
#include <array>

namespace dbproxy::fake {
namespace {

// Looked up with the search tool (docs.databricks.com/api/workspace/scopes and the account
// console's /oidc/.well-known/oauth-authorization-server as probed by a third party):
// - scopes_supported in discovery: all-apis, sql, openid, profile, email, offline_access.
// - fine-grained API scope groups include access-management, alerts, apps, authentication,
//   dashboards (the docs page lists more per product area; the names below are the ones the
//   brief and DATABRICKS.md use, which we could not all confirm individually).
// - every scope group lists "Me (SCIM)", so /preview/scim/v2/Me works with any scope; the fake
//   therefore lets any valid token call it (see rest_api.cpp).
constexpr std::array<std::string_view, 5> kPlainScopes = {"all-apis", "offline_access", "openid",
                                                          "profile", "email"};
constexpr std::array<std::string_view, 12> kApiScopes = {
    "clusters",       "jobs",   "unity-catalog", "scim",
    "dashboards",     "alerts", "apps",          "access-management",
    "authentication", "sql",    "workspace",     "files"};

template <std::size_t N>
bool Contains(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool IsReadMethod(std::string_view method) {
  return method == "GET" || method == "HEAD";
}

}  // namespace

std::optional<Scope> ParseScope(std::string_view text) {
  const std::size_t colon = text.find(':');
  Scope scope{.base = std::string(text.substr(0, colon))};
  if (colon == std::string_view::npos) {
    if (Contains(kPlainScopes, scope.base) || Contains(kApiScopes, scope.base)) return scope;
    return std::nullopt;
  }
  if (!Contains(kApiScopes, scope.base)) return std::nullopt;
  std::string_view rest = text.substr(colon + 1);
  while (true) {
    const std::size_t next = rest.find(':');
    const std::string_view modifier = rest.substr(0, next);
    if (modifier == "read" && !scope.read_only) {
      scope.read_only = true;
    } else if (modifier == "restricted-query" && scope.base == "sql" && !scope.restricted_query) {
      scope.restricted_query = true;
    } else {
      return std::nullopt;
    }
    if (next == std::string_view::npos) return scope;
    rest = rest.substr(next + 1);
  }
}

std::vector<std::string> SplitScopes(std::string_view text) {
  std::vector<std::string> scopes;
  while (!text.empty()) {
    const std::size_t space = text.find(' ');
    const std::string_view token = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (token.empty()) continue;
    if (std::find(scopes.begin(), scopes.end(), token) == scopes.end()) {
      scopes.emplace_back(token);
    }
  }
  return scopes;
}

bool ClientMayRequest(const std::vector<std::string>& allowed, std::string_view requested) {
  if (std::find(allowed.begin(), allowed.end(), requested) != allowed.end()) return true;
  const auto scope = ParseScope(requested);
  return scope && std::find(allowed.begin(), allowed.end(), scope->base) != allowed.end();
}

Access AccessFor(const std::vector<std::string>& token_scopes, ApiFamily family,
                 std::string_view method) {
  if (family == ApiFamily::kAnyScope) return Access::kFull;
  Access best = Access::kDenied;
  for (const std::string& text : token_scopes) {
    if (text == "all-apis") return Access::kFull;
    const auto scope = ParseScope(text);
    if (!scope || scope->base != ScopeNameOf(family)) continue;
    if (!scope->read_only && !scope->restricted_query) return Access::kFull;
    if (IsReadMethod(method)) return Access::kFull;
    if (scope->restricted_query && method == "POST") best = Access::kReadOnlyQueries;
  }
  return best;
}

std::string_view ScopeNameOf(ApiFamily family) {
  switch (family) {
    case ApiFamily::kClusters:
      return "clusters";
    case ApiFamily::kJobs:
      return "jobs";
    case ApiFamily::kSql:
      return "sql";
    case ApiFamily::kFiles:
      return "files";
    case ApiFamily::kWorkspace:
      return "workspace";
    case ApiFamily::kAnyScope:
      break;
  }
  return "all-apis";
}

const std::vector<std::string>& DiscoveryScopes() {
  static const std::vector<std::string> kScopes = {"all-apis", "sql",     "offline_access",
                                                   "openid",   "profile", "email"};
  return kScopes;
}

}  // namespace dbproxy::fake
