// The Databricks REST reference, one call per API family and method, with the action each is
// classified as and the API scope Databricks lists for it; and every scope's reach checked
// against that table (a raw token of a scope must be refused by a deny rule on any action it
// can perform).
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/calls/classify.hpp"
#include "common/policy/actions.hpp"
#include "common/policy/policy.hpp"
#include "tests/common/policy/rules_test_util.hpp"

namespace dbproxy {
namespace {

struct ReferenceCall {
  const char* method;
  const char* path;    // already in normalised spelling
  const char* action;
  const char* scope;   // the Databricks API scope; "all-apis" where none narrower is known
};

// Written from the REST reference (docs.databricks.com/api/workspace), independently of the
// route table.
const std::vector<ReferenceCall>& ReferenceCalls() {
  static const std::vector<ReferenceCall> kCalls = {
      // Jobs.
      {"GET", "/api/2.2/jobs/list", "jobs.read", "jobs"},
      {"GET", "/api/2.1/jobs/get", "jobs.read", "jobs"},
      {"GET", "/api/2.2/jobs/runs/get-output", "jobs.read", "jobs"},
      {"POST", "/api/2.2/jobs/run-now", "jobs.run", "jobs"},
      {"POST", "/api/2.2/jobs/runs/submit", "jobs.submit", "jobs"},
      {"POST", "/api/2.1/jobs/runs/cancel", "jobs.run", "jobs"},
      {"POST", "/api/2.2/jobs/runs/repair", "jobs.run", "jobs"},
      {"POST", "/api/2.2/jobs/create", "jobs.manage", "jobs"},
      {"POST", "/api/2.0/jobs/reset", "jobs.manage", "jobs"},
      {"POST", "/api/2.2/jobs/runs/delete", "jobs.manage", "jobs"},
      // Clusters and the compute around them.
      {"GET", "/api/2.1/clusters/list", "clusters.read", "clusters"},
      {"GET", "/api/2.0/clusters/get", "clusters.read", "clusters"},
      {"GET", "/api/2.1/clusters/spark-versions", "clusters.read", "clusters"},
      {"POST", "/api/2.1/clusters/events", "clusters.read", "clusters"},
      {"POST", "/api/2.1/clusters/create", "clusters.manage", "clusters"},
      {"POST", "/api/2.1/clusters/update", "clusters.manage", "clusters"},
      {"POST", "/api/2.0/clusters/permanent-delete", "clusters.manage", "clusters"},
      {"GET", "/api/2.0/libraries/cluster-status", "libraries.read", "clusters"},
      {"GET", "/api/2.0/libraries/all-cluster-statuses", "libraries.read", "clusters"},
      {"POST", "/api/2.0/libraries/install", "libraries.install", "clusters"},
      {"POST", "/api/2.0/libraries/uninstall", "libraries.install", "clusters"},
      {"GET", "/api/2.0/policies/clusters/list", "policies.read", "clusters"},
      {"GET", "/api/2.0/policies/clusters/get", "policies.read", "clusters"},
      {"POST", "/api/2.0/policies/clusters/create", "policies.manage", "clusters"},
      {"POST", "/api/2.0/policies/clusters/edit", "policies.manage", "clusters"},
      {"POST", "/api/2.0/policies/clusters/delete", "policies.manage", "clusters"},
      {"POST", "/api/2.0/policies/clusters/enforce-compliance", "clusters.manage", "clusters"},
      {"GET", "/api/2.0/policy-families", "policies.read", "clusters"},
      {"GET", "/api/2.0/policy-families/personal-vm", "policies.read", "clusters"},
      {"GET", "/api/2.0/instance-pools/list", "pools.read", "clusters"},
      {"GET", "/api/2.0/instance-pools/get", "pools.read", "clusters"},
      {"POST", "/api/2.0/instance-pools/create", "pools.manage", "clusters"},
      {"POST", "/api/2.0/instance-pools/edit", "pools.manage", "clusters"},
      {"POST", "/api/2.0/instance-pools/delete", "pools.manage", "clusters"},
      {"POST", "/api/1.2/commands/execute", "commands.execute", "clusters"},
      {"POST", "/api/1.2/contexts/create", "commands.execute", "clusters"},
      // SQL: statements, warehouses, queries and history, data sources.
      {"POST", "/api/2.0/sql/statements", "sql.execute", "sql"},
      {"GET", "/api/2.0/sql/statements/01ef-aa", "sql.read", "sql"},
      {"GET", "/api/2.0/sql/statements/01ef-aa/result/chunks/0", "sql.read", "sql"},
      {"POST", "/api/2.0/sql/statements/01ef-aa/cancel", "sql.cancel", "sql"},
      {"GET", "/api/2.0/sql/warehouses", "warehouses.read", "sql"},
      {"POST", "/api/2.0/sql/warehouses", "warehouses.manage", "sql"},
      {"POST", "/api/2.0/sql/warehouses/w1/start", "warehouses.manage", "sql"},
      {"DELETE", "/api/2.0/sql/warehouses/w1", "warehouses.manage", "sql"},
      {"GET", "/api/2.0/sql/config/warehouses", "warehouses.read", "sql"},
      {"GET", "/api/2.0/preview/sql/data_sources", "warehouses.read", "sql"},
      {"GET", "/api/2.0/sql/queries", "queries.read", "sql"},
      {"POST", "/api/2.0/sql/queries", "queries.write", "sql"},
      {"GET", "/api/2.0/sql/queries/q1", "queries.read", "sql"},
      {"PATCH", "/api/2.0/sql/queries/q1", "queries.write", "sql"},
      {"DELETE", "/api/2.0/sql/queries/q1", "queries.write", "sql"},
      {"GET", "/api/2.0/sql/history/queries", "queries.read", "sql"},
      {"GET", "/api/2.0/preview/sql/queries", "queries.read", "sql"},
      {"POST", "/api/2.0/preview/sql/queries/q1", "queries.write", "sql"},
      // Alerts and legacy SQL dashboards.
      {"GET", "/api/2.0/sql/alerts", "alerts.read", "alerts"},
      {"POST", "/api/2.0/sql/alerts", "alerts.write", "alerts"},
      {"PATCH", "/api/2.0/sql/alerts/a1", "alerts.write", "alerts"},
      {"DELETE", "/api/2.0/sql/alerts/a1", "alerts.write", "alerts"},
      {"GET", "/api/2.0/preview/sql/alerts", "alerts.read", "alerts"},
      {"GET", "/api/2.0/preview/sql/dashboards", "dashboards.read", "dashboards"},
      {"POST", "/api/2.0/preview/sql/dashboards/d1", "dashboards.write", "dashboards"},
      // Unity Catalog.
      {"GET", "/api/2.1/unity-catalog/catalogs", "uc.read", "unity-catalog"},
      {"POST", "/api/2.1/unity-catalog/catalogs", "uc.write", "unity-catalog"},
      {"PATCH", "/api/2.1/unity-catalog/catalogs/main", "uc.write", "unity-catalog"},
      {"DELETE", "/api/2.1/unity-catalog/schemas/main.s", "uc.write", "unity-catalog"},
      {"GET", "/api/2.1/unity-catalog/tables/main.default.t", "uc.read", "unity-catalog"},
      {"GET", "/api/2.1/unity-catalog/tables/main.default.my%20table", "uc.read",
       "unity-catalog"},
      {"GET", "/api/2.1/unity-catalog/tables/main.d%C3%A9fault.t", "uc.read", "unity-catalog"},
      {"GET", "/api/2.1/unity-catalog/volumes/main.default.v", "uc.read", "unity-catalog"},
      {"GET", "/api/2.1/unity-catalog/functions/main.default.f", "uc.read", "unity-catalog"},
      {"GET", "/api/2.1/unity-catalog/metastore_summary", "uc.read", "unity-catalog"},
      {"GET", "/api/2.1/unity-catalog/storage-credentials", "uc.read", "unity-catalog"},
      {"POST", "/api/2.1/unity-catalog/external-locations", "uc.write", "unity-catalog"},
      {"POST", "/api/2.1/unity-catalog/temporary-table-credentials", "uc.credentials",
       "unity-catalog"},
      {"POST", "/api/2.0/unity-catalog/temporary-path-credentials", "uc.credentials",
       "unity-catalog"},
      {"GET", "/api/2.1/unity-catalog/iceberg-rest/v1/catalogs/main/namespaces/s/tables/t",
       "uc.credentials", "unity-catalog"},
      {"GET", "/api/2.1/unity-catalog/permissions/table/main.default.t", "uc.read",
       "unity-catalog"},
      {"GET", "/api/2.1/unity-catalog/effective-permissions/table/main.default.t", "uc.read",
       "unity-catalog"},
      {"PATCH", "/api/2.1/unity-catalog/permissions/table/main.default.t", "permissions.manage",
       "unity-catalog"},
      {"POST", "/api/2.1/unity-catalog/recipients", "uc.credentials", "unity-catalog"},
      {"GET", "/api/2.1/unity-catalog/recipients", "uc.credentials", "unity-catalog"},
      {"GET", "/api/2.1/unity-catalog/recipients/r1", "uc.credentials", "unity-catalog"},
      {"PATCH", "/api/2.1/unity-catalog/recipients/r1", "uc.write", "unity-catalog"},
      {"DELETE", "/api/2.1/unity-catalog/recipients/r1", "uc.write", "unity-catalog"},
      {"POST", "/api/2.1/unity-catalog/recipients/r1/rotate-token", "uc.credentials",
       "unity-catalog"},
      {"GET", "/api/2.1/unity-catalog/recipients/r1/share-permissions", "uc.credentials",
       "unity-catalog"},
      {"GET", "/api/2.1/unity-catalog/shares", "uc.read", "unity-catalog"},
      {"POST", "/api/2.1/unity-catalog/shares", "uc.write", "unity-catalog"},
      {"GET", "/api/2.1/unity-catalog/shares/s1/permissions", "uc.read", "unity-catalog"},
      {"PATCH", "/api/2.1/unity-catalog/shares/s1/permissions", "permissions.manage",
       "unity-catalog"},
      {"GET", "/api/2.1/unity-catalog/public/data_sharing_activation_info/x", "uc.credentials",
       "unity-catalog"},
      {"GET", "/api/2.1/unity-catalog/providers", "uc.read", "unity-catalog"},
      // SCIM, workspace and account level.
      {"GET", "/api/2.0/preview/scim/v2/Me", "scim.me", "scim"},
      {"GET", "/api/2.0/preview/scim/v2/Users", "scim.read", "scim"},
      {"GET", "/api/2.0/preview/scim/v2/Users/123", "scim.read", "scim"},
      {"POST", "/api/2.0/preview/scim/v2/Users", "scim.admin", "scim"},
      {"PATCH", "/api/2.0/preview/scim/v2/Users/123", "scim.admin", "scim"},
      {"PUT", "/api/2.0/preview/scim/v2/Users/123", "scim.admin", "scim"},
      {"DELETE", "/api/2.0/preview/scim/v2/Users/123", "scim.admin", "scim"},
      {"GET", "/api/2.0/preview/scim/v2/Groups", "scim.read", "scim"},
      {"POST", "/api/2.0/preview/scim/v2/Groups", "scim.admin", "scim"},
      {"PATCH", "/api/2.0/preview/scim/v2/Groups/9", "scim.admin", "scim"},
      {"GET", "/api/2.0/preview/scim/v2/ServicePrincipals", "scim.read", "scim"},
      {"POST", "/api/2.0/preview/scim/v2/ServicePrincipals", "scim.admin", "scim"},
      {"DELETE", "/api/2.0/preview/scim/v2/ServicePrincipals/5", "scim.admin", "scim"},
      {"GET", "/api/2.0/accounts/acc-1/scim/v2/Users", "scim.read", "scim"},
      {"POST", "/api/2.0/accounts/acc-1/scim/v2/Groups", "scim.admin", "scim"},
      // Workspace objects, Git folders and Git credentials.
      {"GET", "/api/2.0/workspace/list", "workspace.read", "workspace"},
      {"GET", "/api/2.0/workspace/export", "workspace.read", "workspace"},
      {"POST", "/api/2.0/workspace/import", "workspace.write", "workspace"},
      {"POST", "/api/2.0/workspace/delete", "workspace.write", "workspace"},
      {"GET", "/api/2.0/repos", "repos.read", "workspace"},
      {"GET", "/api/2.0/repos/123", "repos.read", "workspace"},
      {"POST", "/api/2.0/repos", "repos.write", "workspace"},
      {"PATCH", "/api/2.0/repos/123", "repos.write", "workspace"},
      {"DELETE", "/api/2.0/repos/123", "repos.write", "workspace"},
      {"GET", "/api/2.0/git-credentials", "git.credentials", "workspace"},
      {"POST", "/api/2.0/git-credentials", "git.credentials", "workspace"},
      {"PATCH", "/api/2.0/git-credentials/7", "git.credentials", "workspace"},
      {"DELETE", "/api/2.0/git-credentials/7", "git.credentials", "workspace"},
      // DBFS and the Files API.
      {"GET", "/api/2.0/dbfs/list", "dbfs.read", "files"},
      {"GET", "/api/2.0/dbfs/read", "dbfs.read", "files"},
      {"POST", "/api/2.0/dbfs/put", "dbfs.write", "files"},
      {"POST", "/api/2.0/dbfs/move", "dbfs.write", "files"},
      {"GET", "/api/2.0/fs/files/Volumes/main/default/v/a.csv", "files.read", "files"},
      {"PUT", "/api/2.0/fs/files/Volumes/main/default/v/a.csv", "files.write", "files"},
      {"DELETE", "/api/2.0/fs/files/Volumes/main/default/v/a.csv", "files.write", "files"},
      {"GET", "/api/2.0/fs/files/Volumes/main/default/v/my%20file%C3%A9%2B1.csv", "files.read",
       "files"},
      {"PUT", "/api/2.0/fs/files/Workspace/Users/a%40b.com/x.txt", "files.write", "files"},
      {"GET", "/api/2.0/fs/directories/Volumes/main/default/v", "files.read", "files"},
      {"PUT", "/api/2.0/fs/directories/Volumes/main/default/v/new", "files.write", "files"},
      {"DELETE", "/api/2.0/fs/directories/Volumes/main/default/v/new", "files.write", "files"},
      {"GET", "/api/3.0/fs/files/Volumes/main/default/v/a.csv", "files.read", "files"},
      // Tokens, service-principal secrets, federation policies.
      {"POST", "/api/2.0/token/create", "tokens.manage", "authentication"},
      {"GET", "/api/2.0/token/list", "tokens.read", "authentication"},
      {"POST", "/api/2.0/token/delete", "tokens.manage", "authentication"},
      {"GET", "/api/2.0/token-management/tokens", "tokens.read", "authentication"},
      {"GET", "/api/2.0/token-management/tokens/t1", "tokens.read", "authentication"},
      {"DELETE", "/api/2.0/token-management/tokens/t1", "tokens.manage", "authentication"},
      {"POST", "/api/2.0/token-management/on-behalf-of/tokens", "tokens.manage",
       "authentication"},
      {"GET", "/api/2.0/accounts/acc-1/servicePrincipals/42/credentials/secrets", "tokens.read",
       "authentication"},
      {"POST", "/api/2.0/accounts/acc-1/servicePrincipals/42/credentials/secrets",
       "tokens.manage", "authentication"},
      {"GET", "/api/2.0/accounts/acc-1/federationPolicies", "tokens.read", "authentication"},
      {"POST", "/api/2.0/accounts/acc-1/federationPolicies", "tokens.manage", "authentication"},
      {"POST", "/api/2.0/credentials-manager/exchange-tokens/token", "tokens.manage",
       "authentication"},
      // Secrets.
      {"GET", "/api/2.0/secrets/get", "secrets.read", "secrets"},
      {"GET", "/api/2.0/secrets/list", "secrets.list", "secrets"},
      {"GET", "/api/2.0/secrets/scopes/list", "secrets.list", "secrets"},
      {"GET", "/api/2.0/secrets/acls/list", "secrets.list", "secrets"},
      {"GET", "/api/2.0/secrets/acls/get", "secrets.list", "secrets"},
      {"POST", "/api/2.0/secrets/put", "secrets.manage", "secrets"},
      {"POST", "/api/2.0/secrets/scopes/create", "secrets.manage", "secrets"},
      {"POST", "/api/2.0/secrets/acls/put", "secrets.manage", "secrets"},
      // Permissions.
      {"GET", "/api/2.0/permissions/clusters/c1", "permissions.read", "access-management"},
      {"GET", "/api/2.0/permissions/jobs/1/permissionLevels", "permissions.read",
       "access-management"},
      {"PUT", "/api/2.0/permissions/clusters/c1", "permissions.manage", "access-management"},
      {"PATCH", "/api/2.0/permissions/jobs/1", "permissions.manage", "access-management"},
      {"GET", "/api/2.0/preview/sql/permissions/queries/q1", "permissions.read",
       "access-management"},
      {"POST", "/api/2.0/preview/sql/permissions/queries/q1", "permissions.manage",
       "access-management"},
      {"GET", "/api/2.0/preview/accounts/access-control/rule-sets", "permissions.read",
       "access-management"},
      {"PUT", "/api/2.0/preview/accounts/access-control/rule-sets", "permissions.manage",
       "access-management"},
      // Model serving, including the OpenAI-compatible routes.
      {"POST", "/serving-endpoints/m/invocations", "serving.query", "serving-endpoints"},
      {"POST", "/serving-endpoints/m/served-models/v1/invocations", "serving.query",
       "serving-endpoints"},
      {"POST", "/serving-endpoints/chat/completions", "serving.query", "serving-endpoints"},
      {"POST", "/serving-endpoints/completions", "serving.query", "serving-endpoints"},
      {"POST", "/serving-endpoints/embeddings", "serving.query", "serving-endpoints"},
      {"GET", "/api/2.0/serving-endpoints", "serving.query", "serving-endpoints"},
      {"POST", "/api/2.0/serving-endpoints", "serving.manage", "serving-endpoints"},
      {"PUT", "/api/2.0/serving-endpoints/m/config", "serving.manage", "serving-endpoints"},
      {"DELETE", "/api/2.0/serving-endpoints/m", "serving.manage", "serving-endpoints"},
      // Pipelines.
      {"GET", "/api/2.0/pipelines", "pipelines.read", "pipelines"},
      {"GET", "/api/2.0/pipelines/p1", "pipelines.read", "pipelines"},
      {"POST", "/api/2.0/pipelines", "pipelines.manage", "pipelines"},
      {"PUT", "/api/2.0/pipelines/p1", "pipelines.manage", "pipelines"},
      {"DELETE", "/api/2.0/pipelines/p1", "pipelines.manage", "pipelines"},
      {"POST", "/api/2.0/pipelines/p1/clone", "pipelines.manage", "pipelines"},
      {"POST", "/api/2.0/pipelines/p1/updates", "pipelines.run", "pipelines"},
      {"GET", "/api/2.0/pipelines/p1/updates", "pipelines.read", "pipelines"},
      {"GET", "/api/2.0/pipelines/p1/updates/u1", "pipelines.read", "pipelines"},
      {"POST", "/api/2.0/pipelines/p1/stop", "pipelines.run", "pipelines"},
      {"GET", "/api/2.0/pipelines/p1/events", "pipelines.read", "pipelines"},
      // MLflow.
      {"GET", "/api/2.0/mlflow/experiments/get", "mlflow.read", "mlflow"},
      {"POST", "/api/2.0/mlflow/experiments/create", "mlflow.write", "mlflow"},
      {"POST", "/api/2.0/mlflow/experiments/search", "mlflow.read", "mlflow"},
      {"POST", "/api/2.0/mlflow/runs/create", "mlflow.write", "mlflow"},
      {"POST", "/api/2.0/mlflow/runs/log-metric", "mlflow.write", "mlflow"},
      {"POST", "/api/2.0/mlflow/runs/search", "mlflow.read", "mlflow"},
      {"GET", "/api/2.0/mlflow/runs/get", "mlflow.read", "mlflow"},
      {"GET", "/api/2.0/mlflow/artifacts/list", "mlflow.read", "mlflow"},
      {"GET", "/api/2.0/mlflow/artifacts/credentials-for-read", "mlflow.credentials", "mlflow"},
      {"GET", "/api/2.0/mlflow/artifacts/credentials-for-write", "mlflow.credentials", "mlflow"},
      {"GET", "/api/2.0/mlflow/registered-models/search", "mlflow.read", "mlflow"},
      {"POST", "/api/2.0/mlflow/registered-models/create", "mlflow.write", "mlflow"},
      {"POST", "/api/2.0/mlflow/model-versions/create", "mlflow.write", "mlflow"},
      {"POST", "/api/2.0/mlflow/transition-requests/create", "mlflow.write", "mlflow"},
      {"GET", "/api/2.0/preview/mlflow/experiments/list", "mlflow.read", "mlflow"},
      // Lakeview (AI/BI dashboards) and Genie.
      {"GET", "/api/2.0/lakeview/dashboards", "dashboards.read", "dashboards"},
      {"POST", "/api/2.0/lakeview/dashboards", "dashboards.write", "dashboards"},
      {"GET", "/api/2.0/lakeview/dashboards/d1", "dashboards.read", "dashboards"},
      {"PATCH", "/api/2.0/lakeview/dashboards/d1", "dashboards.write", "dashboards"},
      {"DELETE", "/api/2.0/lakeview/dashboards/d1", "dashboards.write", "dashboards"},
      {"POST", "/api/2.0/lakeview/dashboards/d1/published", "dashboards.write", "dashboards"},
      {"GET", "/api/2.0/lakeview/dashboards/d1/published", "dashboards.read", "dashboards"},
      {"GET", "/api/2.0/genie/spaces", "genie.read", "genie"},
      {"GET", "/api/2.0/genie/spaces/s1", "genie.read", "genie"},
      {"POST", "/api/2.0/genie/spaces/s1/start-conversation", "genie.query", "genie"},
      {"POST", "/api/2.0/genie/spaces/s1/conversations/c1/messages", "genie.query", "genie"},
      {"GET", "/api/2.0/genie/spaces/s1/conversations/c1/messages/m1", "genie.read", "genie"},
      {"POST", "/api/2.0/genie/spaces/s1/conversations/c1/messages/m1/execute-query",
       "genie.query", "genie"},
      {"POST", "/api/2.0/genie/spaces", "genie.manage", "genie"},
      {"DELETE", "/api/2.0/genie/spaces/s1", "genie.manage", "genie"},
      // Vector search.
      {"GET", "/api/2.0/vector-search/endpoints", "vectorsearch.read", "vector-search"},
      {"POST", "/api/2.0/vector-search/endpoints", "vectorsearch.write", "vector-search"},
      {"GET", "/api/2.0/vector-search/indexes", "vectorsearch.read", "vector-search"},
      {"POST", "/api/2.0/vector-search/indexes", "vectorsearch.write", "vector-search"},
      {"POST", "/api/2.0/vector-search/indexes/main.default.idx/query", "vectorsearch.query",
       "vector-search"},
      {"POST", "/api/2.0/vector-search/indexes/main.default.idx/query-next-page",
       "vectorsearch.query", "vector-search"},
      {"POST", "/api/2.0/vector-search/indexes/main.default.idx/scan", "vectorsearch.query",
       "vector-search"},
      {"POST", "/api/2.0/vector-search/indexes/main.default.idx/upsert-data",
       "vectorsearch.write", "vector-search"},
      {"DELETE", "/api/2.0/vector-search/indexes/main.default.idx/delete-data",
       "vectorsearch.write", "vector-search"},
      {"POST", "/api/2.0/vector-search/indexes/main.default.idx/sync", "vectorsearch.write",
       "vector-search"},
      {"DELETE", "/api/2.0/vector-search/indexes/main.default.idx", "vectorsearch.write",
       "vector-search"},
      // Apps.
      {"GET", "/api/2.0/apps", "apps.read", "apps"},
      {"POST", "/api/2.0/apps", "apps.manage", "apps"},
      {"GET", "/api/2.0/apps/a1", "apps.read", "apps"},
      {"POST", "/api/2.0/apps/a1/deployments", "apps.manage", "apps"},
      {"POST", "/api/2.0/apps/a1/start", "apps.manage", "apps"},
      {"DELETE", "/api/2.0/apps/a1", "apps.manage", "apps"},
      // Workspace administration.
      {"GET", "/api/2.0/global-init-scripts", "initscripts.read", "all-apis"},
      {"POST", "/api/2.0/global-init-scripts", "initscripts.manage", "all-apis"},
      {"GET", "/api/2.0/global-init-scripts/s1", "initscripts.read", "all-apis"},
      {"PATCH", "/api/2.0/global-init-scripts/s1", "initscripts.manage", "all-apis"},
      {"DELETE", "/api/2.0/global-init-scripts/s1", "initscripts.manage", "all-apis"},
      {"GET", "/api/2.0/workspace-conf", "settings.read", "all-apis"},
      {"PATCH", "/api/2.0/workspace-conf", "settings.manage", "all-apis"},
      {"GET", "/api/2.0/settings/types/default_namespace_ws/names/default", "settings.read",
       "all-apis"},
      {"PATCH", "/api/2.0/settings/types/default_namespace_ws/names/default", "settings.manage",
       "all-apis"},
      {"GET", "/api/2.0/ip-access-lists", "settings.read", "all-apis"},
      {"POST", "/api/2.0/ip-access-lists", "settings.manage", "all-apis"},
      // Lakebase.
      {"POST", "/api/2.0/database/credentials", "database.credentials", "all-apis"},
      {"GET", "/api/2.0/database/instances", "database.read", "all-apis"},
      {"POST", "/api/2.0/database/instances", "database.manage", "all-apis"},
      {"DELETE", "/api/2.0/database/instances/i1", "database.manage", "all-apis"},
  };
  return kCalls;
}

bool ReachCovers(const std::vector<std::string>& reach, std::string_view action) {
  for (const std::string& pattern : reach) {
    if (ActionMatches(pattern, action)) return true;
  }
  return false;
}

TEST(CallTableTest, EveryReferenceCallIsClassified) {
  const std::vector<ReferenceCall>& calls = ReferenceCalls();
  EXPECT_GE(calls.size(), 150u);
  std::set<std::string> seen;
  for (const ReferenceCall& call : calls) {
    SCOPED_TRACE(std::string(call.method) + " " + call.path);
    EXPECT_TRUE(seen.insert(std::string(call.method) + " " + call.path).second) << "duplicate";
    const Result<Classification> got = ClassifyCall(call.method, call.path);
    ASSERT_TRUE(got.has_value()) << got.error().message;
    EXPECT_EQ(got->action, call.action);
    EXPECT_NE(got->resource, "");
    EXPECT_EQ(got->normalized_path, call.path);
    EXPECT_GE(KnownActionIndex(call.action), 0);
  }
}

TEST(CallTableTest, EveryNewActionHasAReferenceCall) {
  std::set<std::string> used;
  for (const ReferenceCall& call : ReferenceCalls()) used.insert(call.action);
  for (std::string_view action : KnownActions()) {
    if (action == "api.unknown") continue;
    EXPECT_TRUE(used.contains(std::string(action))) << action;
  }
}

// The scope Databricks lists for a call reaches its action; "<scope>:read" reaches every GET
// of the scope and no action that only other methods produce.
TEST(CallTableTest, ScopeReachCoversTheTable) {
  std::map<std::string, std::set<std::string>> get_actions;  // scope -> actions of its GETs
  for (const ReferenceCall& call : ReferenceCalls()) {
    if (std::string_view(call.method) == "GET") get_actions[call.scope].insert(call.action);
  }
  for (const ReferenceCall& call : ReferenceCalls()) {
    SCOPED_TRACE(std::string(call.method) + " " + call.path + " scope " + call.scope);
    EXPECT_TRUE(ReachCovers(ScopeReach(call.scope), call.action));
    if (std::string_view(call.scope) == "all-apis") continue;
    const std::vector<std::string> read = ScopeReach(std::string(call.scope) + ":read");
    EXPECT_NE(read, std::vector<std::string>{"*"});
    if (std::string_view(call.method) == "GET") {
      EXPECT_TRUE(ReachCovers(read, call.action));
    } else if (!get_actions[call.scope].contains(call.action)) {
      EXPECT_FALSE(ReachCovers(read, call.action));
    }
  }
}

// End to end through the policy: a deny rule on the call's action refuses a raw token of the
// call's scope (and of "<scope>:read" for a GET).
TEST(CallTableTest, RawTokenOfEveryScopeMeetsDenyRules) {
  std::map<std::string, Policy> policies;  // action -> policy denying it
  for (const ReferenceCall& call : ReferenceCalls()) {
    if (policies.contains(call.action)) continue;
    policies.emplace(call.action, rules_test::MustParse(std::string(R"([[service]]
name = "prod"
match = { uid = 1000 }
roles = ["all"]

[[role]]
name = "all"
credential = "sp"
actions = ["*"]

[[rule]]
id = "deny"
effect = "deny"
actions = [")") + call.action + "\"]\n"));
  }
  for (const ReferenceCall& call : ReferenceCalls()) {
    SCOPED_TRACE(std::string(call.method) + " " + call.path + " scope " + call.scope);
    const Policy& policy = policies.at(call.action);
    const std::string scope = call.scope;
    EXPECT_EQ(rules_test::Bypass(policy, rules_test::CallOf("prod", "token:" + scope), scope),
              "deny");
    if (std::string_view(call.method) == "GET" && scope != "all-apis") {
      EXPECT_EQ(rules_test::Bypass(policy, rules_test::CallOf("prod", "token:" + scope + ":read"),
                                   scope + ":read"),
                "deny");
    }
  }
}

TEST(CallTableTest, ScopeModifiersParseExactly) {
  // Not ":read": unknown modifiers reach everything.
  for (const char* scope : {"jobs:reader", "jobs:read:read", "jobs:", "jobs:READ",
                            "clusters:restricted-query", "sql:read:other", ":read"}) {
    SCOPED_TRACE(scope);
    EXPECT_EQ(ScopeReach(scope), std::vector<std::string>{"*"});
  }
  EXPECT_EQ(ScopeReach("jobs:read"), std::vector<std::string>{"jobs.read"});
  const std::vector<std::string> restricted = ScopeReach("sql:restricted-query");
  EXPECT_TRUE(ReachCovers(restricted, "sql.execute"));
  EXPECT_TRUE(ReachCovers(restricted, "uc.read"));
  EXPECT_FALSE(ReachCovers(restricted, "uc.write"));
  EXPECT_FALSE(ReachCovers(restricted, "permissions.manage"));
  EXPECT_FALSE(ReachCovers(restricted, "warehouses.manage"));
  const std::vector<std::string> both = ScopeReach("sql:read:restricted-query");
  EXPECT_EQ(both, ScopeReach("sql:restricted-query:read"));
  EXPECT_TRUE(ReachCovers(both, "sql.execute"));
  EXPECT_TRUE(ReachCovers(both, "warehouses.read"));
  EXPECT_FALSE(ReachCovers(both, "warehouses.manage"));
}

TEST(CallTableTest, ScopesReachWhatTheirApisCanDo) {
  // SQL runs GRANT and DDL.
  EXPECT_TRUE(ReachCovers(ScopeReach("sql"), "permissions.manage"));
  EXPECT_TRUE(ReachCovers(ScopeReach("sql"), "uc.write"));
  // SCIM edits users and groups; files reaches the Files API as well as DBFS.
  EXPECT_TRUE(ReachCovers(ScopeReach("scim"), "scim.admin"));
  EXPECT_TRUE(ReachCovers(ScopeReach("files:read"), "files.read"));
  EXPECT_FALSE(ReachCovers(ScopeReach("files:read"), "files.write"));
  // Clusters covers libraries, command execution, pools and policies.
  for (const char* action : {"libraries.install", "commands.execute", "pools.manage",
                             "policies.manage"}) {
    EXPECT_TRUE(ReachCovers(ScopeReach("clusters"), action)) << action;
  }
  EXPECT_TRUE(ReachCovers(ScopeReach("unity-catalog:read"), "uc.credentials"));
  EXPECT_EQ(ScopeReach("access-management:read").empty(), false);
  EXPECT_EQ(ScopeReach("authentication:read"), std::vector<std::string>{"tokens.read"});
  EXPECT_FALSE(ReachCovers(ScopeReach("jobs"), "clusters.manage"));
}

}  // namespace
}  // namespace dbproxy
