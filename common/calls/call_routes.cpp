#include "common/calls/call_routes.hpp"

#include <array>

namespace dbproxy {
namespace {

constexpr std::string_view kJobs = "2.0 2.1 2.2";
constexpr std::string_view kClusters = "2.0 2.1";
// Unity Catalog answers on 2.1, and credential vending (temporary-*-credentials) on 2.0 too.
constexpr std::string_view kUc = "2.0 2.1";

// Sources: the Databricks REST reference and the paths the Go/Python SDKs call (DATABRICKS.md).
// Rule of the table: a call is never classified as cheaper than what Databricks executes.
constexpr std::array kRoutes = {
    // Jobs.
    CallRoute{"GET", kJobs, "jobs/list", "jobs.read", "jobs"},
    CallRoute{"GET", kJobs, "jobs/get", "jobs.read", "jobs"},
    CallRoute{"GET", kJobs, "jobs/runs/list", "jobs.read", "jobs"},
    CallRoute{"GET", kJobs, "jobs/runs/get", "jobs.read", "jobs"},
    CallRoute{"GET", kJobs, "jobs/runs/get-output", "jobs.read", "jobs"},
    CallRoute{"GET", kJobs, "jobs/runs/export", "jobs.read", "jobs"},
    CallRoute{"POST", kJobs, "jobs/run-now", "jobs.run", "jobs"},
    CallRoute{"POST", kJobs, "jobs/runs/submit", "jobs.run", "jobs"},
    CallRoute{"POST", kJobs, "jobs/runs/cancel", "jobs.run", "jobs"},
    CallRoute{"POST", kJobs, "jobs/runs/cancel-all", "jobs.run", "jobs"},
    CallRoute{"POST", kJobs, "jobs/runs/repair", "jobs.run", "jobs"},
    CallRoute{"POST", kJobs, "jobs/create", "jobs.manage", "jobs"},
    CallRoute{"POST", kJobs, "jobs/reset", "jobs.manage", "jobs"},
    CallRoute{"POST", kJobs, "jobs/update", "jobs.manage", "jobs"},
    CallRoute{"POST", kJobs, "jobs/delete", "jobs.manage", "jobs"},
    CallRoute{"POST", kJobs, "jobs/runs/delete", "jobs.manage", "jobs"},

    // Clusters. "delete" terminates; "events" is a read sent as POST (GET also accepted).
    CallRoute{"GET", kClusters, "clusters/list", "clusters.read", "clusters"},
    CallRoute{"GET", kClusters, "clusters/get", "clusters.read", "clusters"},
    CallRoute{"GET", kClusters, "clusters/events", "clusters.read", "clusters"},
    CallRoute{"POST", kClusters, "clusters/events", "clusters.read", "clusters"},
    CallRoute{"GET", kClusters, "clusters/list-node-types", "clusters.read", "clusters"},
    CallRoute{"GET", kClusters, "clusters/spark-versions", "clusters.read", "clusters"},
    CallRoute{"GET", kClusters, "clusters/list-zones", "clusters.read", "clusters"},
    CallRoute{"POST", kClusters, "clusters/create", "clusters.manage", "clusters"},
    CallRoute{"POST", kClusters, "clusters/edit", "clusters.manage", "clusters"},
    CallRoute{"POST", kClusters, "clusters/update", "clusters.manage", "clusters"},
    CallRoute{"POST", kClusters, "clusters/start", "clusters.manage", "clusters"},
    CallRoute{"POST", kClusters, "clusters/restart", "clusters.manage", "clusters"},
    CallRoute{"POST", kClusters, "clusters/resize", "clusters.manage", "clusters"},
    CallRoute{"POST", kClusters, "clusters/delete", "clusters.manage", "clusters"},
    CallRoute{"POST", kClusters, "clusters/permanent-delete", "clusters.manage", "clusters"},
    CallRoute{"POST", kClusters, "clusters/pin", "clusters.manage", "clusters"},
    CallRoute{"POST", kClusters, "clusters/unpin", "clusters.manage", "clusters"},
    CallRoute{"POST", kClusters, "clusters/change-owner", "clusters.manage", "clusters"},

    // SQL Statement Execution.
    CallRoute{"POST", "2.0", "sql/statements", "sql.execute", "sql.statements"},
    CallRoute{"GET", "2.0", "sql/statements/{id}", "sql.read", "sql.statements"},
    CallRoute{"GET", "2.0", "sql/statements/{id}/result/chunks/{id}", "sql.read",
              "sql.statements"},
    CallRoute{"POST", "2.0", "sql/statements/{id}/cancel", "sql.execute", "sql.statements"},

    // SQL warehouses, and the workspace-wide warehouse configuration.
    CallRoute{"GET", "2.0", "sql/warehouses", "warehouses.read", "sql.warehouses"},
    CallRoute{"POST", "2.0", "sql/warehouses", "warehouses.manage", "sql.warehouses"},
    CallRoute{"GET", "2.0", "sql/warehouses/{id}", "warehouses.read", "sql.warehouses"},
    CallRoute{"DELETE", "2.0", "sql/warehouses/{id}", "warehouses.manage", "sql.warehouses"},
    CallRoute{"POST", "2.0", "sql/warehouses/{id}/edit", "warehouses.manage", "sql.warehouses"},
    CallRoute{"POST", "2.0", "sql/warehouses/{id}/start", "warehouses.manage", "sql.warehouses"},
    CallRoute{"POST", "2.0", "sql/warehouses/{id}/stop", "warehouses.manage", "sql.warehouses"},
    CallRoute{"GET", "2.0", "sql/config/warehouses", "warehouses.read", "sql.warehouses"},
    CallRoute{"PUT", "2.0", "sql/config/warehouses", "warehouses.manage", "sql.warehouses"},

    // Unity Catalog. Credential vending first, whatever the method: temporary-*-credentials,
    // the Iceberg REST catalogs (loadTable vends storage credentials on a GET), Delta Sharing
    // token retrieval (public/data_sharing_activation) and recipient token rotation. Grants are
    // permission changes. Everything else: GET reads, any other method writes.
    CallRoute{"*", kUc, "unity-catalog/temporary-*/**", "uc.credentials", "unity-catalog"},
    CallRoute{"*", kUc, "unity-catalog/iceberg*/**", "uc.credentials", "unity-catalog"},
    CallRoute{"*", kUc, "unity-catalog/public/**", "uc.credentials", "unity-catalog"},
    CallRoute{"*", kUc, "unity-catalog/recipients/{id}/rotate-token", "uc.credentials",
              "unity-catalog"},
    CallRoute{"GET", kUc, "unity-catalog/permissions/**", "uc.read", "unity-catalog"},
    CallRoute{"*", kUc, "unity-catalog/permissions/**", "permissions.manage", "unity-catalog"},
    CallRoute{"GET", kUc, "unity-catalog/**", "uc.read", "unity-catalog"},
    CallRoute{"*", kUc, "unity-catalog/**", "uc.write", "unity-catalog"},

    // SCIM: only the caller's own identity.
    CallRoute{"GET", "2.0", "preview/scim/v2/Me", "scim.me", "scim"},

    // Workspace objects.
    CallRoute{"GET", "2.0", "workspace/list", "workspace.read", "workspace"},
    CallRoute{"GET", "2.0", "workspace/get-status", "workspace.read", "workspace"},
    CallRoute{"GET", "2.0", "workspace/export", "workspace.read", "workspace"},
    CallRoute{"POST", "2.0", "workspace/import", "workspace.write", "workspace"},
    CallRoute{"POST", "2.0", "workspace/mkdirs", "workspace.write", "workspace"},
    CallRoute{"POST", "2.0", "workspace/delete", "workspace.write", "workspace"},

    // DBFS.
    CallRoute{"GET", "2.0", "dbfs/list", "dbfs.read", "dbfs"},
    CallRoute{"GET", "2.0", "dbfs/get-status", "dbfs.read", "dbfs"},
    CallRoute{"GET", "2.0", "dbfs/read", "dbfs.read", "dbfs"},
    CallRoute{"POST", "2.0", "dbfs/put", "dbfs.write", "dbfs"},
    CallRoute{"POST", "2.0", "dbfs/create", "dbfs.write", "dbfs"},
    CallRoute{"POST", "2.0", "dbfs/add-block", "dbfs.write", "dbfs"},
    CallRoute{"POST", "2.0", "dbfs/close", "dbfs.write", "dbfs"},
    CallRoute{"POST", "2.0", "dbfs/mkdirs", "dbfs.write", "dbfs"},
    CallRoute{"POST", "2.0", "dbfs/move", "dbfs.write", "dbfs"},
    CallRoute{"POST", "2.0", "dbfs/delete", "dbfs.write", "dbfs"},

    // Tokens and service-principal secrets (account level, and the workspace-level proxy
    // without an account id): everything mints or reveals credentials.
    CallRoute{"*", "2.0", "token/**", "tokens.manage", "tokens"},
    CallRoute{"*", "2.0", "token-management/**", "tokens.manage", "tokens"},
    CallRoute{"*", "2.0", "accounts/{id}/servicePrincipals/{id}/credentials/secrets/**",
              "tokens.manage", "tokens"},
    CallRoute{"*", "2.0", "accounts/servicePrincipals/{id}/credentials/secrets/**",
              "tokens.manage", "tokens"},

    // Secrets. Only secrets/get returns a value, but the listings (keys, scopes, ACLs) are
    // classified with it: there is no cheaper secrets action, and workspace.read would let
    // every notebook reader enumerate secret names.
    CallRoute{"GET", "2.0", "secrets/get", "secrets.read", "secrets"},
    CallRoute{"GET", "2.0", "secrets/list", "secrets.read", "secrets"},
    CallRoute{"GET", "2.0", "secrets/scopes/list", "secrets.read", "secrets"},
    CallRoute{"GET", "2.0", "secrets/acls/list", "secrets.read", "secrets"},
    CallRoute{"GET", "2.0", "secrets/acls/get", "secrets.read", "secrets"},
    CallRoute{"POST", "2.0", "secrets/put", "secrets.manage", "secrets"},
    CallRoute{"POST", "2.0", "secrets/delete", "secrets.manage", "secrets"},
    CallRoute{"POST", "2.0", "secrets/scopes/create", "secrets.manage", "secrets"},
    CallRoute{"POST", "2.0", "secrets/scopes/delete", "secrets.manage", "secrets"},
    CallRoute{"POST", "2.0", "secrets/acls/put", "secrets.manage", "secrets"},
    CallRoute{"POST", "2.0", "secrets/acls/delete", "secrets.manage", "secrets"},

    // Object permissions: reading ACLs is a workspace read; changing them is its own action.
    CallRoute{"GET", "2.0", "permissions/**", "workspace.read", "permissions"},
    CallRoute{"PUT", "2.0", "permissions/**", "permissions.manage", "permissions"},
    CallRoute{"PATCH", "2.0", "permissions/**", "permissions.manage", "permissions"},

    // Command execution on a cluster (1.2): arbitrary code, whatever the call.
    CallRoute{"*", "1.2", "commands/**", "commands.execute", "commands"},
    CallRoute{"*", "1.2", "contexts/**", "commands.execute", "commands"},

    // Model serving: invocations live outside /api/; management under /api/2.0.
    CallRoute{"POST", "", "serving-endpoints/{id}/invocations", "serving.query",
              "serving-endpoints"},
    CallRoute{"GET", "2.0", "serving-endpoints/**", "serving.query", "serving-endpoints"},
    CallRoute{"*", "2.0", "serving-endpoints/**", "serving.manage", "serving-endpoints"},
};

struct Fallback {
  std::string_view resource;
  std::string_view action;
};

constexpr std::array kFallbacks = {
    Fallback{"jobs", "jobs.manage"},
    Fallback{"clusters", "clusters.manage"},
    Fallback{"sql.statements", "sql.execute"},
    Fallback{"sql.warehouses", "warehouses.manage"},
    Fallback{"unity-catalog", "uc.write"},
    Fallback{"scim", "api.unknown"},
    Fallback{"workspace", "workspace.write"},
    Fallback{"dbfs", "dbfs.write"},
    Fallback{"tokens", "tokens.manage"},
    Fallback{"secrets", "api.unknown"},
    Fallback{"permissions", "permissions.manage"},
    Fallback{"commands", "commands.execute"},
    Fallback{"serving-endpoints", "serving.manage"},
};

}  // namespace

std::span<const CallRoute> CallRoutes() { return kRoutes; }

std::string_view FallbackAction(std::string_view resource) {
  for (const Fallback& fallback : kFallbacks) {
    if (fallback.resource == resource) return fallback.action;
  }
  return "api.unknown";
}

}  // namespace dbproxy
