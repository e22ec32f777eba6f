#include "common/calls/classify.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/policy/actions.hpp"
#include "common/calls/call_routes.hpp"

namespace dbproxy {
namespace {

struct Call {
  std::string method;
  std::string path;
  std::string action;
  std::string resource;
};

// Expectations written from the Databricks REST reference, independently of call_routes.cpp.
std::vector<Call> ExpectedCalls() {
  std::vector<Call> calls;
  auto add = [&](const std::string& versions, const std::string& method, const std::string& tail,
                 const std::string& action, const std::string& resource) {
    if (versions.empty()) {
      calls.push_back({method, tail, action, resource});
      return;
    }
    for (std::size_t at = 0; at < versions.size(); at += 4) {
      calls.push_back({method, "/api/" + versions.substr(at, 3) + tail, action, resource});
    }
  };
  for (const char* tail : {"list", "get", "runs/list", "runs/get", "runs/get-output", "runs/export"}) {
    add("2.0 2.1 2.2", "GET", std::string("/jobs/") + tail, "jobs.read", "jobs");
  }
  for (const char* tail : {"run-now", "runs/cancel", "runs/cancel-all", "runs/repair"}) {
    add("2.0 2.1 2.2", "POST", std::string("/jobs/") + tail, "jobs.run", "jobs");
  }
  add("2.0 2.1 2.2", "POST", "/jobs/runs/submit", "jobs.submit", "jobs");
  for (const char* tail : {"create", "reset", "update", "delete", "runs/delete"}) {
    add("2.0 2.1 2.2", "POST", std::string("/jobs/") + tail, "jobs.manage", "jobs");
  }
  for (const char* tail :
       {"list", "get", "events", "list-node-types", "spark-versions", "list-zones"}) {
    add("2.0 2.1", "GET", std::string("/clusters/") + tail, "clusters.read", "clusters");
  }
  add("2.0 2.1", "POST", "/clusters/events", "clusters.read", "clusters");
  for (const char* tail : {"create", "edit", "update", "start", "restart", "resize", "delete",
                           "permanent-delete", "pin", "unpin", "change-owner"}) {
    add("2.0 2.1", "POST", std::string("/clusters/") + tail, "clusters.manage", "clusters");
  }
  const std::string st = "/sql/statements";
  add("2.0", "POST", st, "sql.execute", "sql.statements");
  add("2.0", "GET", st + "/01ef-2b3c", "sql.read", "sql.statements");
  add("2.0", "GET", st + "/01ef-2b3c/result/chunks/3", "sql.read", "sql.statements");
  add("2.0", "POST", st + "/01ef-2b3c/cancel", "sql.cancel", "sql.statements");
  const std::string wh = "/sql/warehouses";
  add("2.0", "GET", wh, "warehouses.read", "sql.warehouses");
  add("2.0", "POST", wh, "warehouses.manage", "sql.warehouses");
  add("2.0", "GET", wh + "/abc123", "warehouses.read", "sql.warehouses");
  add("2.0", "DELETE", wh + "/abc123", "warehouses.manage", "sql.warehouses");
  for (const char* verb : {"edit", "start", "stop"}) {
    add("2.0", "POST", wh + "/abc123/" + verb, "warehouses.manage", "sql.warehouses");
  }
  add("2.0", "GET", "/sql/config/warehouses", "warehouses.read", "sql.warehouses");
  add("2.0", "PUT", "/sql/config/warehouses", "warehouses.manage", "sql.warehouses");
  const std::string uc = "/unity-catalog";
  add("2.0 2.1", "GET", uc + "/catalogs", "uc.read", "unity-catalog");
  add("2.0 2.1", "GET", uc + "/tables/main.default.t", "uc.read", "unity-catalog");
  add("2.0 2.1", "GET", uc + "/effective-permissions/table/main.default.t", "uc.read",
      "unity-catalog");
  add("2.0 2.1", "GET", uc + "/permissions/table/main.default.t", "uc.read", "unity-catalog");
  add("2.0 2.1", "POST", uc + "/catalogs", "uc.write", "unity-catalog");
  add("2.0 2.1", "PATCH", uc + "/catalogs/main", "uc.write", "unity-catalog");
  add("2.0 2.1", "PUT", uc + "/catalogs/main", "uc.write", "unity-catalog");
  add("2.0 2.1", "DELETE", uc + "/catalogs/main", "uc.write", "unity-catalog");
  add("2.0 2.1", "PATCH", uc + "/permissions/table/main.default.t", "permissions.manage",
      "unity-catalog");
  for (const char* kind : {"table", "path", "volume", "service"}) {
    add("2.0 2.1", "POST", uc + "/temporary-" + kind + "-credentials", "uc.credentials",
        "unity-catalog");
  }
  add("2.0 2.1", "GET", uc + "/iceberg-rest/v1/config", "uc.credentials", "unity-catalog");
  add("2.0 2.1", "GET", uc + "/iceberg/v1/namespaces/s/tables/t", "uc.credentials",
      "unity-catalog");
  add("2.0 2.1", "GET", uc + "/public/data_sharing_activation/abc", "uc.credentials",
      "unity-catalog");
  add("2.0 2.1", "POST", uc + "/recipients/r1/rotate-token", "uc.credentials", "unity-catalog");
  add("2.0", "GET", "/preview/scim/v2/Me", "scim.me", "scim");
  for (const char* tail : {"list", "get-status", "export"}) {
    add("2.0", "GET", std::string("/workspace/") + tail, "workspace.read", "workspace");
  }
  for (const char* tail : {"import", "mkdirs", "delete"}) {
    add("2.0", "POST", std::string("/workspace/") + tail, "workspace.write", "workspace");
  }
  for (const char* tail : {"list", "get-status", "read"}) {
    add("2.0", "GET", std::string("/dbfs/") + tail, "dbfs.read", "dbfs");
  }
  for (const char* tail : {"put", "create", "add-block", "close", "mkdirs", "move", "delete"}) {
    add("2.0", "POST", std::string("/dbfs/") + tail, "dbfs.write", "dbfs");
  }
  add("2.0", "POST", "/token/create", "tokens.manage", "tokens");
  add("2.0", "GET", "/token/list", "tokens.read", "tokens");
  add("2.0", "POST", "/token/delete", "tokens.manage", "tokens");
  add("2.0", "GET", "/token-management/tokens", "tokens.read", "tokens");
  add("2.0", "POST", "/token-management/on-behalf-of/tokens", "tokens.manage", "tokens");
  add("2.0", "DELETE", "/token-management/tokens/123", "tokens.manage", "tokens");
  const std::string sp = "/servicePrincipals/42/credentials/secrets";
  add("2.0", "POST", "/accounts/acc-1" + sp, "tokens.manage", "tokens");
  add("2.0", "GET", "/accounts/acc-1" + sp, "tokens.read", "tokens");
  add("2.0", "DELETE", "/accounts/acc-1" + sp + "/s1", "tokens.manage", "tokens");
  add("2.0", "POST", "/accounts" + sp, "tokens.manage", "tokens");
  add("2.0", "GET", "/accounts" + sp, "tokens.read", "tokens");
  add("2.0", "GET", "/token-management/tokens/123", "tokens.read", "tokens");
  add("2.0", "GET", "/secrets/get", "secrets.read", "secrets");
  for (const char* tail : {"list", "scopes/list", "acls/list", "acls/get"}) {
    add("2.0", "GET", std::string("/secrets/") + tail, "secrets.list", "secrets");
  }
  for (const char* tail :
       {"put", "delete", "scopes/create", "scopes/delete", "acls/put", "acls/delete"}) {
    add("2.0", "POST", std::string("/secrets/") + tail, "secrets.manage", "secrets");
  }
  add("2.0", "GET", "/permissions/clusters/abc", "permissions.read", "permissions");
  add("2.0", "GET", "/permissions/jobs/1/permissionLevels", "permissions.read", "permissions");
  add("2.0", "PUT", "/permissions/clusters/abc", "permissions.manage", "permissions");
  add("2.0", "PATCH", "/permissions/clusters/abc", "permissions.manage", "permissions");
  add("1.2", "POST", "/commands/execute", "commands.execute", "commands");
  add("1.2", "GET", "/commands/status", "commands.execute", "commands");
  add("1.2", "POST", "/commands/cancel", "commands.execute", "commands");
  add("1.2", "POST", "/contexts/create", "commands.execute", "commands");
  add("1.2", "GET", "/contexts/status", "commands.execute", "commands");
  add("1.2", "POST", "/contexts/destroy", "commands.execute", "commands");
  const std::string se = "/serving-endpoints";
  add("", "POST", se + "/my-model/invocations", "serving.query", "serving-endpoints");
  add("2.0", "GET", se, "serving.query", "serving-endpoints");
  add("2.0", "GET", se + "/my-model", "serving.query", "serving-endpoints");
  add("2.0", "GET", se + "/my-model/served-models/v1/logs", "serving.query", "serving-endpoints");
  add("2.0", "POST", se, "serving.manage", "serving-endpoints");
  add("2.0", "PUT", se + "/my-model/config", "serving.manage", "serving-endpoints");
  add("2.0", "PATCH", se + "/my-model/tags", "serving.manage", "serving-endpoints");
  add("2.0", "DELETE", se + "/my-model", "serving.manage", "serving-endpoints");
  return calls;
}

// A coarse privilege order for "never cheaper" checks: reads < changes < sensitive < unknown.
int Level(const std::string& action) {
  static const std::map<std::string, int> kLevels = {
      {"jobs.read", 1},         {"clusters.read", 1},     {"sql.read", 1},
      {"warehouses.read", 1},   {"uc.read", 1},           {"scim.me", 1},
      {"workspace.read", 1},    {"dbfs.read", 1},         {"serving.query", 1},
      {"jobs.run", 2},          {"sql.execute", 2},       {"uc.write", 2},
      {"workspace.write", 2},   {"dbfs.write", 2},        {"jobs.manage", 3},
      {"clusters.manage", 3},   {"warehouses.manage", 3}, {"uc.credentials", 3},
      {"tokens.manage", 3},     {"secrets.read", 3},      {"secrets.manage", 3},
      {"permissions.manage", 3}, {"commands.execute", 3}, {"serving.manage", 3},
      {"jobs.submit", 2},       {"sql.cancel", 2},        {"secrets.list", 2},
      {"permissions.read", 1},  {"tokens.read", 2},       {"files.read", 1},
      {"files.write", 2},       {"mlflow.read", 1},       {"mlflow.write", 2},
      {"mlflow.credentials", 3}, {"repos.read", 1},       {"repos.write", 2},
      {"git.credentials", 3},   {"pipelines.read", 1},    {"pipelines.run", 2},
      {"pipelines.manage", 3},  {"scim.read", 1},         {"scim.admin", 3},
      {"libraries.read", 1},    {"libraries.install", 3}, {"policies.read", 1},
      {"policies.manage", 3},   {"pools.read", 1},        {"pools.manage", 3},
      {"queries.read", 1},      {"queries.write", 2},     {"alerts.read", 1},
      {"alerts.write", 2},      {"dashboards.read", 1},   {"dashboards.write", 2},
      {"genie.read", 1},        {"genie.query", 2},       {"genie.manage", 3},
      {"vectorsearch.read", 1}, {"vectorsearch.query", 1}, {"vectorsearch.write", 2},
      {"apps.read", 1},         {"apps.manage", 3},       {"initscripts.read", 2},
      {"initscripts.manage", 3}, {"settings.read", 1},    {"settings.manage", 3},
      {"database.read", 1},     {"database.manage", 3},   {"database.credentials", 3},
      {"api.unknown", 4},
  };
  const auto it = kLevels.find(action);
  return it == kLevels.end() ? 0 : it->second;
}

TEST(ClassifyTest, EveryDocumentedCallOnEveryVersion) {
  const std::vector<Call> calls = ExpectedCalls();
  EXPECT_GT(calls.size(), 180u);  // guards against a loop that silently adds nothing
  for (const Call& call : calls) {
    SCOPED_TRACE(call.method + " " + call.path);
    const Result<Classification> got = ClassifyCall(call.method, call.path);
    ASSERT_TRUE(got.has_value()) << got.error().message;
    EXPECT_EQ(got->action, call.action);
    EXPECT_EQ(got->resource, call.resource);
    EXPECT_EQ(got->normalized_path, call.path);
    const std::string version = call.path.starts_with("/api/") ? call.path.substr(5, 3) : "";
    EXPECT_EQ(got->api_version, version);
  }
}

TEST(ClassifyTest, HeadIsClassifiedLikeGet) {
  for (const Call& call : ExpectedCalls()) {
    if (call.method != "GET") continue;
    SCOPED_TRACE(call.path);
    const Result<Classification> got = ClassifyCall("HEAD", call.path);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->action, call.action);
  }
}

TEST(ClassifyTest, UnlistedMethodIsNeverCheaper) {
  const std::vector<Call> calls = ExpectedCalls();
  std::map<std::string, std::set<std::string>> listed;  // path -> methods with their own row
  std::map<std::string, int> worst;                     // path -> highest listed level
  for (const Call& call : calls) {
    listed[call.path].insert(call.method);
    worst[call.path] = std::max(worst[call.path], Level(call.action));
    // These APIs classify by method across the whole tree: every GET below them is a read.
    if (call.path.starts_with("/api/") &&
        (call.resource == "unity-catalog" || call.resource == "permissions" ||
         call.resource == "serving-endpoints") &&
        call.action != "uc.credentials") {
      listed[call.path].insert("GET");
    }
  }
  for (const auto& [path, methods] : listed) {
    for (const char* method : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get",
                               "post", "FOO", ""}) {
      const std::string effective = std::string(method) == "HEAD" ? "GET" : method;
      if (methods.contains(effective)) continue;
      SCOPED_TRACE(std::string(method) + " " + path);
      const Result<Classification> got = ClassifyCall(method, path);
      ASSERT_TRUE(got.has_value());
      EXPECT_GE(Level(got->action), worst[path]) << got->action;
      EXPECT_GT(Level(got->action), 1) << "an unlisted method is never a read";
    }
  }
}

TEST(ClassifyTest, UnknownPathsAreApiUnknown) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"GET", "/api/2.1/jobs/frobnicate"},         {"GET", "/api/2.1/jobs"},
      {"GET", "/api/2.1/jobs/list/extra"},         {"GET", "/api/3.0/jobs/list"},
      {"GET", "/api/2.3/jobs/list"},               {"GET", "/api/2.2/clusters/list"},
      {"GET", "/api/2.1/sql/statements/x"},        {"POST", "/api/2.0/sql/statements/a/b"},
      {"GET", "/api/2.0/preview/scim/v1/Users"},   {"GET", "/api/2.1/repos"},
      {"GET", "/api/2.1/preview/scim/v2/Me"},      {"GET", "/api/2.0/git-credential"},
      {"POST", "/api/2.2/git-credentials"},        {"GET", "/api/2.0/secrets"},
      {"GET", "/api/2.0/libraries/list"},          {"POST", "/serving-endpoints/chat"},
      {"GET", "/api/2.0/fs/file/Volumes/x"},       {"POST", "/api/2.0/mlflowx/runs/create"},
      {"GET", "/api/1.2/libraries/list"},          {"POST", "/api/2.0/commands/execute"},
      {"POST", "/serving-endpoints/m/other"},      {"POST", "/serving-endpoints/m"},
      {"GET", "/api/2.2/unity-catalog/catalogs"},  {"GET", "/api/2.1"},
      {"GET", "/api/2.0/accounts/acc/servicePrincipals/42"},
  };
  for (const auto& [method, path] : cases) {
    SCOPED_TRACE(method + " " + path);
    const Result<Classification> got = ClassifyCall(method, path);
    ASSERT_TRUE(got.has_value()) << got.error().message;
    EXPECT_EQ(got->action, "api.unknown");
    EXPECT_EQ(got->resource, "");
  }
}

TEST(ClassifyTest, ApiVersionIsReportedOnlyForKnownVersions) {
  EXPECT_EQ(ClassifyCall("GET", "/api/2.1/anything")->api_version, "2.1");
  EXPECT_EQ(ClassifyCall("GET", "/api/1.2/anything")->api_version, "1.2");
  EXPECT_EQ(ClassifyCall("GET", "/api/3.0/jobs/list")->api_version, "");
  EXPECT_EQ(ClassifyCall("POST", "/serving-endpoints/m/invocations")->api_version, "");
}

}  // namespace
}  // namespace dbproxy
