#include "common/calls/call_routes.hpp"

#include <array>

namespace dbproxy {
namespace {

constexpr std::string_view kJobs = "2.0 2.1 2.2";
constexpr std::string_view kClusters = "2.0 2.1";
// Unity Catalog answers on 2.1, and credential vending (temporary-*-credentials) on 2.0 too.
constexpr std::string_view kUc = "2.0 2.1";
// The Files API answers on 2.0 and 3.0; MLflow on 2.0 (2.1 for a few newer calls).
constexpr std::string_view kFiles = "2.0 3.0";
constexpr std::string_view kMlflow = "2.0 2.1";

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
    // One-time runs carry their own code and cluster, and no job id a policy could name.
    CallRoute{"POST", kJobs, "jobs/runs/submit", "jobs.submit", "jobs"},
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
    CallRoute{"POST", "2.0", "sql/statements/{id}/cancel", "sql.cancel", "sql.statements"},

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
    // Delta Sharing recipients: creating one mints a bearer token, reading one shows its
    // activation link. Only renaming/editing (PATCH) and deleting are plain writes.
    CallRoute{"PATCH", kUc, "unity-catalog/recipients/{id}", "uc.write", "unity-catalog"},
    CallRoute{"DELETE", kUc, "unity-catalog/recipients/{id}", "uc.write", "unity-catalog"},
    CallRoute{"*", kUc, "unity-catalog/recipients/**", "uc.credentials", "unity-catalog"},
    CallRoute{"GET", kUc, "unity-catalog/shares/{id}/permissions", "uc.read", "unity-catalog"},
    CallRoute{"*", kUc, "unity-catalog/shares/{id}/permissions", "permissions.manage",
              "unity-catalog"},
    CallRoute{"GET", kUc, "unity-catalog/permissions/**", "uc.read", "unity-catalog"},
    CallRoute{"*", kUc, "unity-catalog/permissions/**", "permissions.manage", "unity-catalog"},
    CallRoute{"GET", kUc, "unity-catalog/**", "uc.read", "unity-catalog"},
    CallRoute{"*", kUc, "unity-catalog/**", "uc.write", "unity-catalog"},

    // SCIM: the caller's own identity; users, groups and service principals (workspace and
    // account level), where any change is an identity administration.
    CallRoute{"GET", "2.0", "preview/scim/v2/Me", "scim.me", "scim"},
    CallRoute{"GET", "2.0", "preview/scim/v2/**", "scim.read", "scim"},
    CallRoute{"*", "2.0", "preview/scim/v2/**", "scim.admin", "scim"},
    CallRoute{"GET", "2.0 2.1", "accounts/{id}/scim/v2/**", "scim.read", "scim"},
    CallRoute{"*", "2.0 2.1", "accounts/{id}/scim/v2/**", "scim.admin", "scim"},

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

    // Tokens, service-principal secrets (account level, and the workspace-level proxy without
    // an account id) and federation policies: listings show metadata only (tokens.read);
    // everything else mints, revokes or trusts credentials. The credentials manager exchanges
    // tokens.
    CallRoute{"GET", "2.0", "token/list", "tokens.read", "tokens"},
    CallRoute{"*", "2.0", "token/**", "tokens.manage", "tokens"},
    CallRoute{"GET", "2.0", "token-management/tokens", "tokens.read", "tokens"},
    CallRoute{"GET", "2.0", "token-management/tokens/{id}", "tokens.read", "tokens"},
    CallRoute{"*", "2.0", "token-management/**", "tokens.manage", "tokens"},
    CallRoute{"GET", "2.0", "accounts/{id}/servicePrincipals/{id}/credentials/secrets",
              "tokens.read", "tokens"},
    CallRoute{"*", "2.0", "accounts/{id}/servicePrincipals/{id}/credentials/secrets/**",
              "tokens.manage", "tokens"},
    CallRoute{"GET", "2.0", "accounts/servicePrincipals/{id}/credentials/secrets", "tokens.read",
              "tokens"},
    CallRoute{"*", "2.0", "accounts/servicePrincipals/{id}/credentials/secrets/**",
              "tokens.manage", "tokens"},
    CallRoute{"GET", "2.0", "accounts/{id}/federationPolicies/**", "tokens.read", "tokens"},
    CallRoute{"*", "2.0", "accounts/{id}/federationPolicies/**", "tokens.manage", "tokens"},
    CallRoute{"GET", "2.0", "accounts/{id}/servicePrincipals/{id}/federationPolicies/**",
              "tokens.read", "tokens"},
    CallRoute{"*", "2.0", "accounts/{id}/servicePrincipals/{id}/federationPolicies/**",
              "tokens.manage", "tokens"},
    CallRoute{"*", "2.0", "credentials-manager/**", "tokens.manage", "tokens"},

    // Secrets. Only secrets/get returns a value (secrets.read); the listings of keys, scopes
    // and ACLs are secrets.list, apart from workspace.read so that notebook readers cannot
    // enumerate secret names.
    CallRoute{"GET", "2.0", "secrets/get", "secrets.read", "secrets"},
    CallRoute{"GET", "2.0", "secrets/list", "secrets.list", "secrets"},
    CallRoute{"GET", "2.0", "secrets/scopes/list", "secrets.list", "secrets"},
    CallRoute{"GET", "2.0", "secrets/acls/list", "secrets.list", "secrets"},
    CallRoute{"GET", "2.0", "secrets/acls/get", "secrets.list", "secrets"},
    CallRoute{"POST", "2.0", "secrets/put", "secrets.manage", "secrets"},
    CallRoute{"POST", "2.0", "secrets/delete", "secrets.manage", "secrets"},
    CallRoute{"POST", "2.0", "secrets/scopes/create", "secrets.manage", "secrets"},
    CallRoute{"POST", "2.0", "secrets/scopes/delete", "secrets.manage", "secrets"},
    CallRoute{"POST", "2.0", "secrets/acls/put", "secrets.manage", "secrets"},
    CallRoute{"POST", "2.0", "secrets/acls/delete", "secrets.manage", "secrets"},

    // Object permissions, the legacy Databricks SQL ACLs (set by POST) and account rule sets.
    CallRoute{"GET", "2.0", "permissions/**", "permissions.read", "permissions"},
    CallRoute{"PUT", "2.0", "permissions/**", "permissions.manage", "permissions"},
    CallRoute{"PATCH", "2.0", "permissions/**", "permissions.manage", "permissions"},
    CallRoute{"GET", "2.0", "preview/sql/permissions/**", "permissions.read", "permissions"},
    CallRoute{"*", "2.0", "preview/sql/permissions/**", "permissions.manage", "permissions"},
    CallRoute{"GET", "2.0", "preview/accounts/access-control/**", "permissions.read",
              "permissions"},
    CallRoute{"*", "2.0", "preview/accounts/access-control/**", "permissions.manage",
              "permissions"},

    // Command execution on a cluster (1.2): arbitrary code, whatever the call.
    CallRoute{"*", "1.2", "commands/**", "commands.execute", "commands"},
    CallRoute{"*", "1.2", "contexts/**", "commands.execute", "commands"},

    // Model serving: invocations (and the OpenAI-compatible routes) live outside /api/;
    // management under /api/2.0.
    CallRoute{"POST", "", "serving-endpoints/{id}/invocations", "serving.query",
              "serving-endpoints"},
    CallRoute{"POST", "", "serving-endpoints/{id}/served-models/{id}/invocations",
              "serving.query", "serving-endpoints"},
    CallRoute{"POST", "", "serving-endpoints/chat/completions", "serving.query",
              "serving-endpoints"},
    CallRoute{"POST", "", "serving-endpoints/completions", "serving.query", "serving-endpoints"},
    CallRoute{"POST", "", "serving-endpoints/embeddings", "serving.query", "serving-endpoints"},
    CallRoute{"GET", "2.0", "serving-endpoints/**", "serving.query", "serving-endpoints"},
    CallRoute{"*", "2.0", "serving-endpoints/**", "serving.manage", "serving-endpoints"},

    // Files API (UC volumes and workspace files): GET/HEAD read, PUT/DELETE/POST write.
    CallRoute{"GET", kFiles, "fs/files/**", "files.read", "files"},
    CallRoute{"*", kFiles, "fs/files/**", "files.write", "files"},
    CallRoute{"GET", kFiles, "fs/directories/**", "files.read", "files"},
    CallRoute{"*", kFiles, "fs/directories/**", "files.write", "files"},

    // MLflow: artifact credentials are cloud credentials whatever the method; searches are
    // reads sent as POST; everything else by method.
    CallRoute{"*", kMlflow, "mlflow/artifacts/credentials-*", "mlflow.credentials", "mlflow"},
    CallRoute{"*", kMlflow, "mlflow/artifacts/credentials-*/**", "mlflow.credentials", "mlflow"},
    CallRoute{"*", kMlflow, "preview/mlflow/artifacts/credentials-*", "mlflow.credentials",
              "mlflow"},
    CallRoute{"GET", kMlflow, "mlflow/**", "mlflow.read", "mlflow"},
    CallRoute{"POST", kMlflow, "mlflow/experiments/search", "mlflow.read", "mlflow"},
    CallRoute{"POST", kMlflow, "mlflow/runs/search", "mlflow.read", "mlflow"},
    CallRoute{"POST", kMlflow, "mlflow/logged-models/search", "mlflow.read", "mlflow"},
    CallRoute{"*", kMlflow, "mlflow/**", "mlflow.write", "mlflow"},
    CallRoute{"GET", kMlflow, "preview/mlflow/**", "mlflow.read", "mlflow"},
    CallRoute{"*", kMlflow, "preview/mlflow/**", "mlflow.write", "mlflow"},

    // Repos / Git folders, and the Git credentials they use (tokens of a Git provider).
    CallRoute{"GET", "2.0", "repos/**", "repos.read", "repos"},
    CallRoute{"*", "2.0", "repos/**", "repos.write", "repos"},
    CallRoute{"*", "2.0", "git-credentials/**", "git.credentials", "git-credentials"},

    // Pipelines: starting or stopping an update runs (or stops) code.
    CallRoute{"GET", "2.0", "pipelines/**", "pipelines.read", "pipelines"},
    CallRoute{"POST", "2.0", "pipelines/{id}/updates", "pipelines.run", "pipelines"},
    CallRoute{"POST", "2.0", "pipelines/{id}/stop", "pipelines.run", "pipelines"},
    CallRoute{"*", "2.0", "pipelines/**", "pipelines.manage", "pipelines"},

    // Compute around clusters: libraries (code on a cluster), cluster policies and policy
    // families, instance pools. Enforcing compliance edits clusters or jobs.
    CallRoute{"GET", "2.0", "libraries/cluster-status", "libraries.read", "libraries"},
    CallRoute{"GET", "2.0", "libraries/all-cluster-statuses", "libraries.read", "libraries"},
    CallRoute{"POST", "2.0", "libraries/install", "libraries.install", "libraries"},
    CallRoute{"POST", "2.0", "libraries/uninstall", "libraries.install", "libraries"},
    CallRoute{"POST", "2.0", "policies/clusters/enforce-compliance", "clusters.manage",
              "policies"},
    CallRoute{"POST", "2.0", "policies/jobs/enforce-compliance", "jobs.manage", "policies"},
    CallRoute{"GET", "2.0", "policies/**", "policies.read", "policies"},
    CallRoute{"*", "2.0", "policies/**", "policies.manage", "policies"},
    CallRoute{"GET", "2.0", "policy-families/**", "policies.read", "policies"},
    CallRoute{"GET", "2.0", "instance-pools/**", "pools.read", "instance-pools"},
    CallRoute{"*", "2.0", "instance-pools/**", "pools.manage", "instance-pools"},

    // Databricks SQL objects: queries (and query history), alerts, legacy dashboards, data
    // sources. Saving a query does not run it.
    CallRoute{"GET", "2.0", "sql/history/queries", "queries.read", "sql.queries"},
    CallRoute{"GET", "2.0", "sql/queries/**", "queries.read", "sql.queries"},
    CallRoute{"*", "2.0", "sql/queries/**", "queries.write", "sql.queries"},
    CallRoute{"GET", "2.0", "preview/sql/queries/**", "queries.read", "sql.queries"},
    CallRoute{"*", "2.0", "preview/sql/queries/**", "queries.write", "sql.queries"},
    CallRoute{"GET", "2.0", "sql/alerts/**", "alerts.read", "sql.alerts"},
    CallRoute{"*", "2.0", "sql/alerts/**", "alerts.write", "sql.alerts"},
    CallRoute{"GET", "2.0", "preview/sql/alerts/**", "alerts.read", "sql.alerts"},
    CallRoute{"*", "2.0", "preview/sql/alerts/**", "alerts.write", "sql.alerts"},
    CallRoute{"GET", "2.0", "preview/sql/dashboards/**", "dashboards.read", "dashboards"},
    CallRoute{"*", "2.0", "preview/sql/dashboards/**", "dashboards.write", "dashboards"},
    CallRoute{"GET", "2.0", "preview/sql/data_sources", "warehouses.read", "sql.warehouses"},

    // AI/BI: Lakeview dashboards and Genie (asking a question runs SQL).
    CallRoute{"GET", "2.0", "lakeview/**", "dashboards.read", "dashboards"},
    CallRoute{"*", "2.0", "lakeview/**", "dashboards.write", "dashboards"},
    CallRoute{"GET", "2.0", "genie/**", "genie.read", "genie"},
    CallRoute{"POST", "2.0", "genie/spaces/{id}/start-conversation", "genie.query", "genie"},
    CallRoute{"POST", "2.0", "genie/spaces/{id}/conversations/**", "genie.query", "genie"},
    CallRoute{"*", "2.0", "genie/**", "genie.manage", "genie"},

    // Vector search: queries and scans read index data by POST.
    CallRoute{"GET", "2.0", "vector-search/**", "vectorsearch.read", "vector-search"},
    CallRoute{"POST", "2.0", "vector-search/indexes/{id}/query", "vectorsearch.query",
              "vector-search"},
    CallRoute{"POST", "2.0", "vector-search/indexes/{id}/query-next-page", "vectorsearch.query",
              "vector-search"},
    CallRoute{"POST", "2.0", "vector-search/indexes/{id}/scan", "vectorsearch.query",
              "vector-search"},
    CallRoute{"POST", "2.0", "vector-search/endpoints/{id}/metrics", "vectorsearch.read",
              "vector-search"},
    CallRoute{"*", "2.0", "vector-search/**", "vectorsearch.write", "vector-search"},

    // Apps: deploying runs code.
    CallRoute{"GET", "2.0", "apps/**", "apps.read", "apps"},
    CallRoute{"*", "2.0", "apps/**", "apps.manage", "apps"},

    // Workspace administration: global init scripts run as root on every cluster; workspace
    // configuration, settings and IP access lists change the workspace's security.
    CallRoute{"GET", "2.0", "global-init-scripts/**", "initscripts.read", "global-init-scripts"},
    CallRoute{"*", "2.0", "global-init-scripts/**", "initscripts.manage", "global-init-scripts"},
    CallRoute{"GET", "2.0", "workspace-conf", "settings.read", "settings"},
    CallRoute{"*", "2.0", "workspace-conf", "settings.manage", "settings"},
    CallRoute{"GET", "2.0", "settings/**", "settings.read", "settings"},
    CallRoute{"*", "2.0", "settings/**", "settings.manage", "settings"},
    CallRoute{"GET", "2.0", "ip-access-lists/**", "settings.read", "settings"},
    CallRoute{"*", "2.0", "ip-access-lists/**", "settings.manage", "settings"},

    // Lakebase: database credentials are Postgres login tokens.
    CallRoute{"*", "2.0", "database/credentials", "database.credentials", "database"},
    CallRoute{"GET", "2.0", "database/**", "database.read", "database"},
    CallRoute{"*", "2.0", "database/**", "database.manage", "database"},
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
    Fallback{"scim", "scim.admin"},
    Fallback{"workspace", "workspace.write"},
    Fallback{"dbfs", "dbfs.write"},
    Fallback{"tokens", "tokens.manage"},
    Fallback{"secrets", "api.unknown"},
    Fallback{"permissions", "permissions.manage"},
    Fallback{"commands", "commands.execute"},
    Fallback{"serving-endpoints", "serving.manage"},
    Fallback{"files", "files.write"},
    Fallback{"mlflow", "mlflow.write"},
    Fallback{"repos", "repos.write"},
    Fallback{"git-credentials", "git.credentials"},
    Fallback{"pipelines", "pipelines.manage"},
    Fallback{"libraries", "libraries.install"},
    Fallback{"policies", "policies.manage"},
    Fallback{"instance-pools", "pools.manage"},
    Fallback{"sql.queries", "queries.write"},
    Fallback{"sql.alerts", "alerts.write"},
    Fallback{"dashboards", "dashboards.write"},
    Fallback{"genie", "genie.manage"},
    Fallback{"vector-search", "vectorsearch.write"},
    Fallback{"apps", "apps.manage"},
    Fallback{"global-init-scripts", "initscripts.manage"},
    Fallback{"settings", "settings.manage"},
    Fallback{"database", "database.manage"},
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
