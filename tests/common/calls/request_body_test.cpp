#include "common/calls/request_body.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dbproxy {
namespace {

Classification Call(const std::string& method, const std::string& path) {
  Result<Classification> call = ClassifyCall(method, path);
  EXPECT_TRUE(call.has_value()) << path;
  return call ? *call : Classification{};
}

const Classification kStatements = Call("POST", "/api/2.0/sql/statements");

BodyFacts MustInspect(const Classification& call, const std::string& body) {
  Result<BodyFacts> facts = InspectBody(call, body);
  EXPECT_TRUE(facts.has_value()) << body << ": " << facts.error().message;
  return facts ? *facts : BodyFacts{};
}

std::string InspectError(const Classification& call, const std::string& body) {
  Result<BodyFacts> facts = InspectBody(call, body);
  if (facts) {
    ADD_FAILURE() << "inspected: " << body;
    return {};
  }
  EXPECT_EQ(facts.error().code, Errc::kInvalidRequest);
  return facts.error().message;
}

TEST(RequestBodyTest, WhichCallsAreInspected) {
  struct Case {
    std::string method;
    std::string path;
    bool inspected;
  };
  const std::vector<Case> cases = {
      {"POST", "/api/2.0/sql/statements", true},
      {"POST", "/api/2.0/sql/statements/", true},
      {"GET", "/api/2.0/sql/statements/abc", false},
      {"POST", "/api/2.0/sql/statements/abc/cancel", false},
      {"PUT", "/api/2.0/sql/statements", false},
      {"POST", "/api/2.2/jobs/run-now", true},
      {"POST", "/api/2.0/jobs/reset", true},
      {"POST", "/api/2.1/jobs/update", true},
      {"POST", "/api/2.1/jobs/delete", true},
      {"POST", "/api/2.1/jobs/runs/cancel-all", true},
      {"POST", "/api/2.1/jobs/runs/submit", true},
      {"POST", "/api/2.2/jobs/create", true},
      {"POST", "/api/2.1/clusters/update", true},
      {"GET", "/api/2.1/jobs/get", false},
      {"POST", "/api/2.1/clusters/create", true},
      {"POST", "/api/2.0/clusters/edit", true},
      {"POST", "/api/2.1/clusters/resize", true},
      {"POST", "/api/2.1/clusters/start", false},
      {"POST", "/api/2.1/unity-catalog/catalogs", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(BodyNeedsInspection(Call(c.method, c.path), c.method), c.inspected)
        << c.method << " " << c.path;
  }
}

TEST(RequestBodyTest, SqlStatementFacts) {
  const BodyFacts facts = MustInspect(kStatements, R"({
      "statement": "SELECT 1", "warehouse_id": "wh-1", "row_limit": 500, "byte_limit": 1048576,
      "disposition": "EXTERNAL_LINKS", "format": "ARROW_STREAM", "wait_timeout": "30s",
      "parameters": [{"name": "x", "value": "1", "type": "INT"}]})");
  EXPECT_EQ(facts.warehouse, "wh-1");
  EXPECT_EQ(facts.row_limit, 500);
  EXPECT_EQ(facts.byte_limit, 1048576);
  EXPECT_EQ(facts.disposition, "EXTERNAL_LINKS");
  EXPECT_EQ(facts.statement_bytes, 8);
  // sha256("SELECT 1")
  EXPECT_EQ(facts.statement_sha256,
            "e004ebd5b5532a4b85984a62f8ad48a81aa3460c1ca07701f386135d72cdecf5");
  EXPECT_TRUE(facts.sql_statement);
  EXPECT_FALSE(facts.job_id);
}

TEST(RequestBodyTest, AbsentAndZeroLimitsAreAbsent) {
  for (const char* body : {R"({"statement": "", "warehouse_id": "w"})",
                           R"({"statement": "x", "warehouse_id": "w", "row_limit": 0,
                               "byte_limit": 0})",
                           R"({"row_limit": null, "byte_limit": null, "warehouse_id": null})",
                           "", "{}", " {} "}) {
    SCOPED_TRACE(body);
    const BodyFacts facts = MustInspect(kStatements, body);
    EXPECT_FALSE(facts.row_limit);
    EXPECT_FALSE(facts.byte_limit);
    EXPECT_TRUE(facts.sql_statement);
  }
  EXPECT_EQ(MustInspect(kStatements, R"({"statement": ""})").statement_bytes, 0);
  EXPECT_EQ(MustInspect(kStatements, "{}").statement_sha256, "");
}

TEST(RequestBodyTest, RefusesWhatDatabricksCouldReadDifferently) {
  struct Case {
    std::string body;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {"not json", "not valid JSON"},
      {R"({"row_limit": 1,})", "not valid JSON"},
      {R"({"row_limit": 1} {})", "not valid JSON"},
      {"[]", "not a JSON object"},
      {"\"x\"", "not a JSON object"},
      {"null", "not a JSON object"},
      {R"({"row_limit": "100"})", "row_limit must be a non-negative integer"},
      {R"({"row_limit": 100.0})", "row_limit must be a non-negative integer"},
      {R"({"row_limit": 1e2})", "row_limit must be a non-negative integer"},
      {R"({"row_limit": -1})", "row_limit must be a non-negative integer"},
      {R"({"row_limit": 9223372036854775808})", "row_limit must be a non-negative integer"},
      {R"({"row_limit": true})", "row_limit must be a non-negative integer"},
      {R"({"byte_limit": [1]})", "byte_limit must be a non-negative integer"},
      {R"({"warehouse_id": 7})", "warehouse_id must be a string"},
      {R"({"disposition": {}})", "disposition must be a string"},
      {R"({"statement": 1})", "statement must be a string"},
      {R"({"row_limit": 1, "row_limit": 100000})", "twice"},
      {R"({"parameters": [{"name": "a", "name": "b"}]})", "twice"},
      {R"({"rowLimit": 100000})", "row_limit is spelt ambiguously"},
      {R"({"row_limit": 10, "ROW_LIMIT": 100000})", "row_limit is spelt ambiguously"},
      {R"({"warehouseId": "wh-2"})", "warehouse_id is spelt ambiguously"},
      {R"({"Statement": "DROP TABLE t"})", "statement is spelt ambiguously"},
      {std::string(70, '[') + std::string(70, ']'), "nested deeper"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    const std::string message = InspectError(kStatements, c.body);
    EXPECT_NE(message.find(c.message_part), std::string::npos) << message;
  }
}

TEST(RequestBodyTest, ErrorsNeverEchoTheStatement) {
  const std::string message =
      InspectError(kStatements, R"({"statement": "SELECT 'hunter2'", "row_limit": "hunter2"})");
  EXPECT_EQ(message.find("hunter2"), std::string::npos);
  EXPECT_EQ(InspectError(kStatements, R"({"statement": "SELECT 'hunter2'")")
                .find("hunter2"),
            std::string::npos);
}

TEST(RequestBodyTest, JobIdFromBody) {
  const Classification run_now = Call("POST", "/api/2.2/jobs/run-now");
  EXPECT_EQ(MustInspect(run_now, R"({"job_id": 42, "job_parameters": {"a": "b"}})").job_id, "42");
  EXPECT_FALSE(MustInspect(run_now, R"({"job_parameters": {}})").job_id);
  EXPECT_NE(InspectError(run_now, R"({"job_id": "42"})").find("job_id"), std::string::npos);
  EXPECT_NE(InspectError(run_now, R"({"jobId": 42})").find("ambiguously"), std::string::npos);
  EXPECT_FALSE(MustInspect(run_now, R"({"job_id": 42})").sql_statement);
  // Keys of other calls are not inspected there.
  EXPECT_FALSE(MustInspect(run_now, R"({"rowLimit": 1})").row_limit);
}

TEST(RequestBodyTest, ClusterFacts) {
  const Classification create = Call("POST", "/api/2.1/clusters/create");
  BodyFacts facts = MustInspect(create, R"({"cluster_name": "c", "node_type_id": "i3.xlarge",
      "driver_node_type_id": "i3.4xlarge", "num_workers": 4, "spark_version": "15.4.x"})");
  EXPECT_EQ(facts.node_type, "i3.xlarge");
  EXPECT_EQ(facts.driver_node_type, "i3.4xlarge");
  EXPECT_EQ(facts.num_workers, 4);

  facts = MustInspect(create, R"({"autoscale": {"min_workers": 2, "max_workers": 50}})");
  EXPECT_EQ(facts.num_workers, 50);
  EXPECT_FALSE(facts.node_type);
  facts = MustInspect(create, R"({"num_workers": 8, "autoscale": {"max_workers": 3}})");
  EXPECT_EQ(facts.num_workers, 8);
  facts = MustInspect(Call("POST", "/api/2.1/clusters/resize"), R"({"num_workers": 0})");
  EXPECT_EQ(facts.num_workers, 0);

  EXPECT_NE(InspectError(create, R"({"autoscale": 5})").find("autoscale must be an object"),
            std::string::npos);
  EXPECT_NE(InspectError(create, R"({"autoscale": {"max_workers": "9"}})").find("max_workers"),
            std::string::npos);
  EXPECT_NE(InspectError(create, R"({"autoscale": {"max_workers": 1, "max_workers": 99}})")
                .find("twice"),
            std::string::npos);
  EXPECT_NE(InspectError(create, R"({"numWorkers": 99})").find("ambiguously"), std::string::npos);
}

// A rule on num_workers or node_type must not be bypassed by putting the cluster in another
// call: clusters/update nests it, jobs carry it in tasks, job_clusters and new_settings.
TEST(RequestBodyTest, NestedClusterFacts) {
  const BodyFacts update = MustInspect(
      Call("POST", "/api/2.1/clusters/update"),
      R"({"cluster_id":"c1","update_mask":"num_workers","cluster":{"num_workers":40,)"
      R"("node_type_id":"r5.24xlarge"}})");
  EXPECT_EQ(update.num_workers, 40);
  EXPECT_EQ(update.node_type, "r5.24xlarge");

  const BodyFacts create = MustInspect(
      Call("POST", "/api/2.2/jobs/create"),
      R"({"name":"j","job_id":7,"tasks":[{"task_key":"a","new_cluster":{"num_workers":2,)"
      R"("node_type_id":"m5.large"}},{"task_key":"b","job_cluster_key":"k"}],)"
      R"("job_clusters":[{"job_cluster_key":"k","new_cluster":{"autoscale":{"max_workers":64},)"
      R"("node_type_id":"m5.large"}}]})");
  EXPECT_EQ(create.num_workers, 64);
  EXPECT_EQ(create.node_type, "m5.large");
  EXPECT_FALSE(create.job_id.has_value()) << "a create body names no job";

  const BodyFacts reset = MustInspect(
      Call("POST", "/api/2.1/jobs/reset"),
      R"({"job_id":12,"new_settings":{"tasks":[{"task_key":"a","for_each_task":{"task":)"
      R"({"task_key":"x","new_cluster":{"num_workers":9}}}}]}})");
  EXPECT_EQ(reset.job_id, "12");
  EXPECT_EQ(reset.num_workers, 9);

  const BodyFacts update_job = MustInspect(
      Call("POST", "/api/2.2/jobs/update"),
      R"({"job_id":3,"new_settings":{"job_clusters":[{"new_cluster":{"num_workers":5}}]}})");
  EXPECT_EQ(update_job.job_id, "3");
  EXPECT_EQ(update_job.num_workers, 5);

  const BodyFacts submit = MustInspect(
      Call("POST", "/api/2.1/jobs/runs/submit"),
      R"({"run_name":"r","new_cluster":{"num_workers":3,"driver_node_type_id":"d1"}})");
  EXPECT_EQ(submit.num_workers, 3);
  EXPECT_EQ(submit.driver_node_type, "d1");

  const BodyFacts plain = MustInspect(Call("POST", "/api/2.2/jobs/create"), R"({"name":"j"})");
  EXPECT_FALSE(plain.num_workers.has_value());
}

TEST(RequestBodyTest, NestedClustersRefuseWhatCouldBeReadDifferently) {
  const Classification create = Call("POST", "/api/2.2/jobs/create");
  EXPECT_NE(InspectError(create, R"({"tasks":[{"new_cluster":{"node_type_id":"a"}},)"
                                 R"({"new_cluster":{"node_type_id":"b"}}]})")
                .find("node_type_id"),
            std::string::npos);
  InspectError(create, R"({"tasks":[{"new_cluster":{"numWorkers":100}}]})");
  InspectError(create, R"({"tasks":[{"new_cluster":{"num_workers":"100"}}]})");
  InspectError(create, R"({"tasks":[{"new_cluster":[1]}]})");
  InspectError(Call("POST", "/api/2.1/clusters/update"), R"({"cluster":{"NUM_WORKERS":1}})");
  InspectError(Call("POST", "/api/2.1/clusters/update"), R"({"cluster":7})");
  BodyFacts facts;
  EXPECT_FALSE(InspectQuery(create, "num_workers=1", facts).ok());
}

TEST(RequestBodyTest, UninspectedCallsGiveNoFacts) {
  const BodyFacts facts =
      MustInspect(Call("POST", "/api/2.1/clusters/start"), R"({"num_workers": 4})");
  EXPECT_FALSE(facts.num_workers);
  EXPECT_FALSE(facts.sql_statement);
}

TEST(RequestBodyTest, JobIdFromQuery) {
  const Classification get = Call("GET", "/api/2.1/jobs/get");
  struct Case {
    std::string query;
    std::optional<std::string> job_id;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"job_id=42", "42", true},
      {"job_id=042&x=1&x=2", "42", true},
      {"x=1&job%5Fid=7", "7", true},
      {"job_id=%34%32", "42", true},
      {"", std::nullopt, true},
      {"limit=5&offset=10", std::nullopt, true},
      {"job_id=1&job_id=2", std::nullopt, false},
      {"job_id=1&job%5fid=1", std::nullopt, false},
      {"jobId=1", std::nullopt, false},
      {"JOB_ID=1", std::nullopt, false},
      {"job_id=", std::nullopt, false},
      {"job_id", std::nullopt, false},
      {"job_id=-1", std::nullopt, false},
      {"job_id=+1", std::nullopt, false},
      {"job_id=1%20", std::nullopt, false},
      {"job_id=1234567890123456789", std::nullopt, false},
      {"job_id=%zz", std::nullopt, false},
      {"%zz=1", std::nullopt, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.query);
    BodyFacts facts;
    Status status = InspectQuery(get, c.query, facts);
    EXPECT_EQ(status.ok(), c.ok);
    if (!status.ok()) {
      EXPECT_EQ(status.error().code, Errc::kInvalidRequest);
      continue;
    }
    EXPECT_EQ(facts.job_id, c.job_id);
  }
  BodyFacts facts;
  EXPECT_TRUE(InspectQuery(Call("GET", "/api/2.1/clusters/get"), "job_id=zz", facts).ok());
  EXPECT_FALSE(facts.job_id);
}

TEST(RequestBodyTest, InspectedFieldsMayNotHideInTheQuery) {
  const Classification create = Call("POST", "/api/2.1/clusters/create");
  for (const auto& [call, query] : std::vector<std::pair<Classification, std::string>>{
           {kStatements, "row_limit=100000"},
           {kStatements, "x=1&rowLimit=5"},
           {kStatements, "warehouse%5Fid=wh-9"},
           {kStatements, "statement=DROP"},
           {create, "num_workers=100"},
           {create, "autoscale.max_workers=100"},
           {create, "nodeTypeId=x"}}) {
    SCOPED_TRACE(query);
    BodyFacts facts;
    Status status = InspectQuery(call, query, facts);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, Errc::kInvalidRequest);
    EXPECT_NE(status.error().message.find("belongs in the body"), std::string::npos);
  }
  BodyFacts facts;
  EXPECT_TRUE(InspectQuery(kStatements, "trace=1&rows=5", facts).ok());
  EXPECT_TRUE(InspectQuery(Call("GET", "/api/2.0/sql/statements/abc"), "row_limit=5", facts).ok());
  EXPECT_TRUE(InspectQuery(Call("POST", "/api/2.1/clusters/start"), "num_workers=5", facts).ok());
}

TEST(RequestBodyTest, JobIdInQueryAndBodyMustAgree) {
  const Classification run_now = Call("POST", "/api/2.1/jobs/run-now");
  BodyFacts facts = MustInspect(run_now, R"({"job_id": 5})");
  EXPECT_TRUE(InspectQuery(run_now, "job_id=05", facts).ok());
  EXPECT_EQ(facts.job_id, "5");
  Status status = InspectQuery(run_now, "job_id=6", facts);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, Errc::kInvalidRequest);
}

TEST(RequestBodyTest, QueryNamesSecretScopeKeyAndPath) {
  struct Case {
    std::string method, path, query;
    std::optional<std::string> scope, key, target;
  };
  const std::vector<Case> cases = {
      {"GET", "/api/2.0/secrets/get", "scope=etl&key=db-password", "etl", "db-password", {}},
      {"GET", "/api/2.0/secrets/list", "scope=etl", "etl", {}, {}},
      {"GET", "/api/2.0/secrets/acls/get", "scope=etl&principal=a%40b.com", "etl", {}, {}},
      {"GET", "/api/2.0/workspace/export", "path=%2FShared%2Fetl%2Fnb&format=SOURCE", {}, {},
       "/Shared/etl/nb"},
      {"GET", "/api/2.0/workspace/list", "path=/Shared/etl/", {}, {}, "/Shared/etl"},
      {"GET", "/api/2.0/workspace/list", "path=/", {}, {}, "/"},
      {"GET", "/api/2.0/workspace/get-status", "path=/Users/caf%C3%A9%20x", {}, {},
       "/Users/caf\xC3\xA9 x"},
      {"GET", "/api/2.0/dbfs/read", "path=dbfs:/mnt/raw/a.csv&offset=0", {}, {}, "/mnt/raw/a.csv"},
      {"GET", "/api/2.0/dbfs/list", "path=/mnt", {}, {}, "/mnt"},
      {"GET", "/api/2.0/fs/files/Volumes/main/etl/in/a%20b.csv", "", {}, {},
       "/Volumes/main/etl/in/a b.csv"},
      {"PUT", "/api/2.0/fs/files/Volumes/main/etl/out.csv", "overwrite=true", {}, {},
       "/Volumes/main/etl/out.csv"},
      {"GET", "/api/2.0/fs/directories/Volumes/main/etl", "", {}, {}, "/Volumes/main/etl"},
      // Other calls: path and scope keys in their queries mean nothing.
      {"GET", "/api/2.1/jobs/get", "job_id=1&path=/x&scope=y", {}, {}, {}},
      {"GET", "/api/2.0/secrets/get", "", {}, {}, {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.method + " " + c.path + "?" + c.query);
    BodyFacts facts;
    const Status status = InspectQuery(Call(c.method, c.path), c.query, facts);
    ASSERT_TRUE(status.ok()) << status.error().message;
    EXPECT_EQ(facts.secret_scope, c.scope);
    EXPECT_EQ(facts.secret_key, c.key);
    EXPECT_EQ(facts.target_path, c.target);
  }
}

TEST(RequestBodyTest, AmbiguousScopeKeyOrPathIsRefused) {
  const Classification secret = Call("GET", "/api/2.0/secrets/get");
  const Classification exported = Call("GET", "/api/2.0/workspace/export");
  const Classification read = Call("GET", "/api/2.0/dbfs/read");
  for (const auto& [call, query] : std::vector<std::pair<Classification, std::string>>{
           {secret, "scope=etl&scope=prod&key=a"},
           {secret, "scope=etl&Scope=prod"},
           {secret, "scope=e%20tl&key=a"},
           {secret, "scope=e+tl&key=a"},
           {secret, "scope=&key=a"},
           {secret, "scope=etl&key=a/b"},
           {secret, "scope=%zz"},
           {exported, "path=/Shared/etl/../secret"},
           {exported, "path=/Shared/etl/%2E%2E/secret"},
           {exported, "path=/Shared//etl"},
           {exported, "path=/Shared/./etl"},
           {exported, "path=Shared/etl"},
           {exported, "path=/Shared/etl&path=/Users"},
           {exported, "PATH=/Users"},
           {exported, "path=/Shared/a+b"},
           {exported, "path=/Shared/a%0Ab"},
           {read, "path=dbfs:mnt/x"},
       }) {
    SCOPED_TRACE(query);
    BodyFacts facts;
    const Status status = InspectQuery(call, query, facts);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, Errc::kInvalidRequest);
  }
}

TEST(RequestBodyTest, BodyNamesSecretScopeKeyAndPathAndTheQueryMustAgree) {
  const Classification put = Call("POST", "/api/2.0/secrets/put");
  ASSERT_TRUE(BodyNeedsInspection(put, "POST"));
  BodyFacts facts = MustInspect(put, R"({"scope": "etl", "key": "k1", "string_value": "s3cr3t"})");
  EXPECT_EQ(facts.secret_scope, "etl");
  EXPECT_EQ(facts.secret_key, "k1");
  EXPECT_TRUE(InspectQuery(put, "scope=etl", facts).ok());
  EXPECT_FALSE(InspectQuery(put, "scope=prod", facts).ok());
  const std::string refused = InspectError(put, R"({"scope": "etl", "Scope": "prod"})");
  EXPECT_EQ(refused.find("s3cr3t"), std::string::npos);
  EXPECT_NE(InspectError(put, R"({"scope": "etl", "key": "k", "string_value": "s3cr3t",
                                  "key": "other"})").find("twice"), std::string::npos);

  const Classification remove = Call("POST", "/api/2.0/workspace/delete");
  ASSERT_TRUE(BodyNeedsInspection(remove, "POST"));
  EXPECT_EQ(MustInspect(remove, R"({"path": "/Shared/etl/old", "recursive": true})").target_path,
            "/Shared/etl/old");
  InspectError(remove, R"({"path": "/Shared/etl/../../Users/x"})");
  InspectError(remove, R"({"path": 5})");
  EXPECT_EQ(MustInspect(Call("POST", "/api/2.0/dbfs/mkdirs"), R"({"path": "dbfs:/tmp/a/"})")
                .target_path,
            "/tmp/a");
  // File contents travel in these bodies: streamed unread, their path stays absent.
  EXPECT_FALSE(BodyNeedsInspection(Call("POST", "/api/2.0/workspace/import"), "POST"));
  EXPECT_FALSE(BodyNeedsInspection(Call("POST", "/api/2.0/dbfs/put"), "POST"));
}

TEST(RequestBodyTest, AddToRequestFactsKeepsOtherFacts) {
  RequestFacts facts{.action = "sql.execute", .workspace = "prod"};
  facts.job_id = "9";
  const BodyFacts body = MustInspect(
      kStatements, R"({"warehouse_id": "w", "row_limit": 5, "disposition": "INLINE",
                       "statement": "abc"})");
  AddToRequestFacts(body, facts);
  EXPECT_EQ(facts.action, "sql.execute");
  EXPECT_EQ(facts.warehouse, "w");
  EXPECT_EQ(facts.row_limit, 5);
  EXPECT_FALSE(facts.byte_limit);
  EXPECT_EQ(facts.disposition, "INLINE");
  EXPECT_EQ(facts.statement_bytes, 3);
  EXPECT_EQ(facts.job_id, "9");
  EXPECT_TRUE(facts.sql_statement_body);
}

RoleLimits Clamping(std::optional<std::int64_t> rows, std::optional<std::int64_t> bytes) {
  RoleLimits limits;
  limits.sql_row_limit_max = rows;
  limits.sql_row_limit_clamp = rows.has_value();
  limits.sql_byte_limit_max = bytes;
  limits.sql_byte_limit_clamp = bytes.has_value();
  return limits;
}

std::string MustClamp(const std::string& body, const RoleLimits& limits) {
  Result<std::string> out = ApplyClamps(body, limits, MustInspect(kStatements, body));
  EXPECT_TRUE(out.has_value()) << body << ": " << out.error().message;
  return out ? *out : std::string();
}

TEST(RequestBodyTest, ClampAddsOrLowersLimitsAndKeepsTheRest) {
  const RoleLimits limits = Clamping(1000, std::nullopt);
  EXPECT_EQ(MustClamp(R"({"statement":"SELECT 1","warehouse_id":"w"})", limits),
            R"({"statement":"SELECT 1","warehouse_id":"w","row_limit":1000})");
  EXPECT_EQ(MustClamp(R"({"row_limit": 50000, "statement": "SELECT \"a\"\n", "warehouse_id": "w"})",
                      limits),
            R"({"row_limit":1000,"statement":"SELECT \"a\"\n","warehouse_id":"w"})");
  EXPECT_EQ(MustClamp(R"({"row_limit": 0})", limits), R"({"row_limit":1000})");
  EXPECT_EQ(MustClamp("", limits), R"({"row_limit":1000})");
  // Within the limit: the body is forwarded untouched, byte for byte.
  const std::string within = R"({ "row_limit" : 10, "statement": "x" })";
  EXPECT_EQ(MustClamp(within, limits), within);
  EXPECT_EQ(MustClamp(within, Clamping(std::nullopt, std::nullopt)), within);
  // Both limits.
  EXPECT_EQ(MustClamp(R"({"byte_limit": 99999999, "p": [{"a": 1}]})", Clamping(10, 4096)),
            R"({"byte_limit":4096,"p":[{"a":1}],"row_limit":10})");
  // A max without the clamp flag does not rewrite (Evaluate refuses instead).
  RoleLimits refuse;
  refuse.sql_row_limit_max = 10;
  EXPECT_EQ(MustClamp(R"({"row_limit": 50})", refuse), R"({"row_limit": 50})");
}

TEST(RequestBodyTest, ClampRefusesBodiesItCannotRewriteExactly) {
  const RoleLimits limits = Clamping(1000, std::nullopt);
  for (const char* body : {R"({"x": 1.5})", R"({"p": [123456789012345678901234567890]})"}) {
    SCOPED_TRACE(body);
    Result<std::string> out = ApplyClamps(body, limits, BodyFacts{});
    ASSERT_FALSE(out.has_value());
    EXPECT_EQ(out.error().code, Errc::kInvalidRequest);
  }
  Result<std::string> out = ApplyClamps("[1]", limits, BodyFacts{});
  EXPECT_FALSE(out.has_value());
}

TEST(RequestBodyTest, ClampedBodyReadsAsTheClampedFacts) {
  const RoleLimits limits = Clamping(100, 2048);
  const std::string body =
      R"({"statement": "SELECT * FROM t", "warehouse_id": "w", "row_limit": 100000})";
  const std::string clamped = MustClamp(body, limits);
  const BodyFacts after = MustInspect(kStatements, clamped);
  EXPECT_EQ(after.row_limit, 100);
  EXPECT_EQ(after.byte_limit, 2048);
  EXPECT_EQ(after.statement_sha256, MustInspect(kStatements, body).statement_sha256);
  EXPECT_EQ(nlohmann::json::parse(clamped)["warehouse_id"], "w");
}

}  // namespace
}  // namespace dbproxy
