// Databricks OAuth scope names: which ones a token request may ask for, and what a token with a
// given scope set may call.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dbproxy::fake {

struct Scope {
  std::string base;               // "clusters", "sql", "all-apis", ...
  bool read_only = false;         // ":read" — GET/HEAD only
  bool restricted_query = false;  // ":restricted-query" — read-only SQL statements (sql only)
};

// Parses one scope token; nullopt when Databricks would not recognise it.
std::optional<Scope> ParseScope(std::string_view text);

// Splits an RFC 6749 §3.3 scope parameter on spaces, dropping duplicates, keeping order.
std::vector<std::string> SplitScopes(std::string_view text);

// Whether a client whose scopes are restricted to `allowed` may obtain `requested`. A listed base
// scope also permits its narrower ":read"/":restricted-query" forms.
bool ClientMayRequest(const std::vector<std::string>& allowed, std::string_view requested);

// The scope family a REST endpoint belongs to. kAnyScope endpoints accept any valid token.
enum class ApiFamily { kAnyScope, kClusters, kJobs, kSql, kFiles, kWorkspace };

enum class Access { kDenied, kFull, kReadOnlyQueries };

// What a token holding `token_scopes` may do on an endpoint of `family` with `method`.
// kReadOnlyQueries: only read-only SQL statements may be submitted.
Access AccessFor(const std::vector<std::string>& token_scopes, ApiFamily family,
                 std::string_view method);

// The scope a caller needs for `family` ("clusters", "jobs", "sql", "files", "workspace").
std::string_view ScopeNameOf(ApiFamily family);

// The names discovery advertises in "scopes_supported".
const std::vector<std::string>& DiscoveryScopes();

}  // namespace dbproxy::fake
