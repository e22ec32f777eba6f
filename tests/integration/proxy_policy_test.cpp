// Policy through proxy mode: Databricks REST calls made on agent.sock by callers the kernel
// identifies, decided per call and forwarded to the fake workspace with the role's credential.
// Covers the four rule examples of docs/policy.md, the SQL statements endpoint with and without
// row_limit from a staging and a production service, role limits and clamps, the rate limit, the
// maintenance switch, and that a refused call never reaches the workspace.
//
// Callers: the test process (root) is service "production"; children under uid kServiceUid are
// "staging" and under uid kStrangerUid "platform" (matched by uid, so no cgroup is needed).
#include <gtest/gtest.h>

#include <sstream>

#include <ctime>
#include <string>

#include "tests/integration/harness/runtime_fixture.hpp"

namespace dbproxy::testing {
namespace {

constexpr uid_t kNobodyUid = 4545;  // matches no service
constexpr char kClusters[] = "/api/2.1/clusters/list";
constexpr char kStatements[] = "/api/2.0/sql/statements";
constexpr char kRunNow[] = "/api/2.2/jobs/run-now";

std::string ServiceToml(const std::string& name, const std::string& match,
                    const std::string& attributes, const std::string& role = "worker") {
  return "[[service]]\nname = \"" + name + "\"\nmatch = { " + match + " }\nattributes = { " +
         attributes + " }\nworkspace = \"" + kWorkspace + "\"\nroles = [\"" + role + "\"]\n\n";
}

std::string RoleToml(const std::string& name, const std::string& limits = "") {
  return "[[role]]\nname = \"" + name + "\"\ncredential = \"" + kCredential + "\"\n" +
         "actions = [\"jobs.*\", \"clusters.*\", \"sql.*\", \"warehouses.*\", \"scim.me\"]\n" +
         (limits.empty() ? "" : "limits = { " + limits + " }\n") + "\n";
}

// The three callers, all with role "worker" (or `role` for production).
std::string Services(const std::string& production_role = "worker") {
  return ServiceToml("production", "uid = 0", "env = \"production\", team = \"billing\"",
                 production_role) +
         ServiceToml("staging", "uid = " + std::to_string(kServiceUid),
                 "env = \"staging\", team = \"billing\"") +
         ServiceToml("platform", "uid = " + std::to_string(kStrangerUid),
                 "env = \"production\", team = \"platform\"") +
         RoleToml("worker");
}

// The rule examples of docs/policy.md "Examples", verbatim.
constexpr char kExampleRules[] = R"(
[[rule]]
id = "jobs-run-production-only"
effect = "deny"
actions = ["jobs.run", "jobs.submit"]
unless = { "service.env" = "production" }

[[rule]]
id = "staging-sql-row-limit"
effect = "deny"
actions = ["sql.execute"]
when = { "service.env" = "staging" }
unless = { "request.row_limit" = { le = 1000 } }

[[rule]]
id = "clusters-manage-platform-only"
effect = "deny"
actions = ["clusters.manage"]
unless = { "service.team" = "platform" }

[[rule]]
id = "reporting-office-hours"
effect = "deny"
actions = ["*"]
when = { "service.name" = "reporting" }
unless = { "time.utc" = { between = ["08:00", "17:59"] }, "time.weekday" = { in = ["mon", "tue", "wed", "thu", "fri"] } }
)";

std::string Statement(const std::string& extra = "") {
  return R"({"statement":"SELECT id, name FROM t","warehouse_id":"wh-1")" + extra + "}";
}

std::string Rule(const HttpResponse& response) {
  const nlohmann::json body = response.Json();
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return "";
  return body["error"].value("rule", "");
}

// "HH:MM" of now + `minutes` (UTC, wrapping around midnight).
std::string UtcClock(int minutes) {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  const int total = ((utc.tm_hour * 60 + utc.tm_min + minutes) % 1440 + 1440) % 1440;
  char text[8];
  std::snprintf(text, sizeof text, "%02d:%02d", total / 60, total % 60);
  return text;
}

class ProxyPolicyTest : public IntegrationTest {
 protected:
  void StartWithPolicy(const std::string& policy) {
    agent_->options().policy = policy;
    agent_->WriteConfig();
    const HarnessStatus started = StartAndEnroll();
    ASSERT_TRUE(started.ok()) << started.error;
  }

  // A proxied call by the test process ("production"), on a fresh connection.
  HttpResponse AsProduction(const std::string& method, const std::string& target,
                            const std::string& body = "", HttpHeaders headers = {}) {
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    UnixHttpClient client = agent_->Client();
    return client.Request(method, target, body, headers);
  }
  HttpResponse AsStaging(const std::string& method, const std::string& target,
                         const std::string& body = "") {
    return RequestAs(UserIdentity(kServiceUid, kServiceUid), agent_->socket(), method, target,
                     body);
  }
  HttpResponse AsPlatform(const std::string& method, const std::string& target,
                          const std::string& body = "") {
    return RequestAs(UserIdentity(kStrangerUid, kStrangerUid), agent_->socket(), method, target,
                     body);
  }

  std::int64_t UpstreamApiRequests() {
    const nlohmann::json counters = fake_->Counters();
    return counters.is_object() ? counters.value("api_requests", std::int64_t{-1}) : -1;
  }
  // The workspace's log of the last request it received.
  nlohmann::json LastUpstreamRequest() {
    const nlohmann::json log = fake_->Control("GET", "/_fake/requests?limit=1").Json();
    return log.is_array() && !log.empty() ? log[0] : nlohmann::json::object();
  }

  // Checks a refusal by the agent: status, code, rule, a request id, and nothing upstream.
  void ExpectRefused(const HttpResponse& response, int status, const std::string& code,
                     const std::string& rule, std::int64_t upstream_before) {
    EXPECT_EQ(response.status, status) << response.Describe();
    EXPECT_EQ(ErrorCode(response), code) << response.body;
    if (!rule.empty()) {
      EXPECT_EQ(Rule(response), rule) << response.body;
    }
    const nlohmann::json body = response.Json();
    EXPECT_TRUE(body.is_object() && body.contains("error") &&
                !body["error"].value("request_id", "").empty())
        << response.body;
    EXPECT_EQ(UpstreamApiRequests(), upstream_before) << "a refused call reached the workspace";
  }
};

TEST_F(ProxyPolicyTest, ForwardsWithTheRoleCredentialAndRewrittenHeaders) {
  StartWithPolicy(Services() + kExampleRules);
  const HttpResponse listed = AsProduction(
      "GET", std::string(kClusters) + "?can_use_client=JOBS",
      "", {{"Authorization", "Bearer dapi-caller-own-token"}, {"User-Agent", "etl/1.2"}});
  ASSERT_EQ(listed.status, 200) << listed.Describe();
  EXPECT_EQ(listed.Json()["clusters"].size(), 3U) << listed.body;
  const nlohmann::json upstream = LastUpstreamRequest();
  EXPECT_EQ(upstream["target"], std::string(kClusters) + "?can_use_client=JOBS");
  const std::string authorization = upstream["headers"].value("Authorization", "");
  EXPECT_EQ(authorization.rfind("Bearer eyJ", 0), 0U) << "the role's OAuth token is injected";
  EXPECT_EQ(upstream.dump().find("dapi-caller-own-token"), std::string::npos) << upstream.dump();
  EXPECT_NE(upstream["headers"].value("User-Agent", "").find("etl/1.2 dbproxy/"),
            std::string::npos)
      << upstream.dump();

  // The workspace named in the path, or by header, is the same one.
  EXPECT_EQ(AsProduction("GET", std::string("/w/") + kWorkspace + kClusters).status, 200);
  EXPECT_EQ(AsProduction("GET", kClusters, "", {{"X-Dbproxy-Workspace", kWorkspace}}).status,
            200);
  const HttpResponse unknown = AsProduction("GET", kClusters, "", {{"X-Dbproxy-Workspace", "nope"}});
  EXPECT_EQ(unknown.status, 404) << unknown.Describe();
}

TEST_F(ProxyPolicyTest, JobRunsOnlyFromProductionServices) {
  StartWithPolicy(Services() + kExampleRules);
  const std::int64_t before = UpstreamApiRequests();
  ExpectRefused(AsStaging("POST", kRunNow, R"({"job_id":101})"), 403, "policy_denied",
                "jobs-run-production-only", before);
  ExpectRefused(AsStaging("POST", "/api/2.1/jobs/runs/submit",
                          R"({"run_name":"x","tasks":[{"task_key":"a"}]})"),
                403, "policy_denied", "jobs-run-production-only", before);
  // Reading jobs is not a run.
  EXPECT_EQ(AsStaging("GET", "/api/2.2/jobs/list").status, 200);

  const HttpResponse run = AsProduction("POST", kRunNow, R"({"job_id":101})");
  ASSERT_EQ(run.status, 200) << run.Describe();
  EXPECT_TRUE(run.Json().contains("run_id")) << run.body;
  const HttpResponse runs = AsPlatform("GET", "/api/2.2/jobs/runs/list?job_id=101");
  ASSERT_EQ(runs.status, 200) << runs.Describe();
  EXPECT_EQ(runs.Json()["runs"].size(), 1U) << "only the production run happened: " << runs.body;
}

// The policy decides on one job id: a query job_id that disagrees with the body's is refused
// rather than letting the body's win (the workspace might read the other one).
// New API families end to end: a Files API upload and download under a volume path with a
// space (forwarded in its one normalised spelling), a Repos list, and their own actions in rules.
TEST_F(ProxyPolicyTest, FilesApiAndReposHaveTheirOwnActions) {
  StartWithPolicy(
      ServiceToml("production", "uid = 0", "env = \"production\"", "files") +
      ServiceToml("staging", "uid = " + std::to_string(kServiceUid), "env = \"staging\"",
                  "files") +
      ServiceToml("platform", "uid = " + std::to_string(kStrangerUid), "env = \"production\"",
                  "files") +
      R"([[role]]
name = "files"
credential = ")" + std::string(kCredential) + R"("
actions = ["files.*", "repos.read"]

[[rule]]
id = "files-write-production-only"
effect = "deny"
actions = ["files.write"]
unless = { "service.env" = "production" }
)");
  const std::string file = "/api/2.0/fs/files/Volumes/main/etl/landing/daily%20report.csv";
  const HttpResponse uploaded = AsProduction("PUT", file + "?overwrite=true", "id,total\n1,2\n");
  ASSERT_EQ(uploaded.status, 204) << uploaded.Describe();
  EXPECT_EQ(LastUpstreamRequest()["target"], file + "?overwrite=true");
  const HttpResponse downloaded = AsStaging("GET", file);
  ASSERT_EQ(downloaded.status, 200) << downloaded.Describe();
  EXPECT_EQ(downloaded.body, "id,total\n1,2\n");

  const std::int64_t before = UpstreamApiRequests();
  ExpectRefused(AsStaging("PUT", file, "x"), 403, "policy_denied", "files-write-production-only",
                before);
  // SCIM administration is not a Files or Repos action, whatever the role allows elsewhere.
  ExpectRefused(AsProduction("POST", "/api/2.0/preview/scim/v2/Users", R"({"userName":"x"})"), 403,
                "policy_denied", "", before);

  const HttpResponse repos = AsPlatform("GET", "/api/2.0/repos");
  ASSERT_EQ(repos.status, 200) << repos.Describe();
  EXPECT_EQ(repos.Json()["repos"].size(), 1U) << repos.body;
}

TEST_F(ProxyPolicyTest, PathAndSecretScopeRulesReadTheUrlQueryAndBody) {
  StartWithPolicy(
      ServiceToml("staging", "uid = " + std::to_string(kServiceUid), "env = \"staging\"", "etl") +
      R"([[role]]
name = "etl"
credential = ")" + std::string(kCredential) + R"("
actions = ["files.*", "workspace.*", "secrets.read", "secrets.manage"]

[[rule]]
id = "etl-own-paths"
effect = "deny"
actions = ["files.*", "workspace.*"]
unless = { "request.target_path" = { glob = "/Volumes/main/etl/*" } }

[[rule]]
id = "etl-own-secrets"
effect = "deny"
actions = ["secrets.*"]
unless = { "request.secret_scope" = "etl" }
)");
  const std::string own = "/api/2.0/fs/files/Volumes/main/etl/in/a%20b.csv";
  const HttpResponse uploaded = AsStaging("PUT", own, "id\n1\n");
  ASSERT_EQ(uploaded.status, 204) << uploaded.Describe();
  EXPECT_EQ(LastUpstreamRequest()["target"], own);

  const std::int64_t before = UpstreamApiRequests();
  ExpectRefused(AsStaging("PUT", "/api/2.0/fs/files/Volumes/main/hr/salaries.csv", "x"), 403,
                "policy_denied", "etl-own-paths", before);
  ExpectRefused(AsStaging("GET", "/api/2.0/workspace/export?path=/Volumes/main/hr/x"), 403,
                "policy_denied", "etl-own-paths", before);
  // workspace/import is streamed unread: no path fact, so the unless test fails and it is denied.
  ExpectRefused(AsStaging("POST", "/api/2.0/workspace/import", R"({"path":"/Volumes/main/etl/x"})"),
                403, "policy_denied", "etl-own-paths", before);
  ExpectRefused(AsStaging("GET", "/api/2.0/workspace/export?path=/Volumes/main/etl/../hr/x"), 400,
                "invalid_request", "", before);
  ExpectRefused(AsStaging("GET", "/api/2.0/secrets/get?scope=hr&key=db"), 403, "policy_denied",
                "etl-own-secrets", before);
  ExpectRefused(AsStaging("GET", "/api/2.0/secrets/get?scope=etl&key=db&scope=hr"), 400,
                "invalid_request", "", before);
  ExpectRefused(AsStaging("POST", "/api/2.0/secrets/put",
                          R"({"scope":"hr","key":"db","string_value":"x"})"),
                403, "policy_denied", "etl-own-secrets", before);

  // The allowed ones reach the workspace, as sent.
  AsStaging("GET", "/api/2.0/secrets/get?scope=etl&key=db");
  EXPECT_EQ(UpstreamApiRequests(), before + 1);
  EXPECT_EQ(LastUpstreamRequest()["target"], "/api/2.0/secrets/get?scope=etl&key=db");
  AsStaging("POST", "/api/2.0/secrets/put", R"({"scope":"etl","key":"db","string_value":"x"})");
  EXPECT_EQ(UpstreamApiRequests(), before + 2);
}

TEST_F(ProxyPolicyTest, JobIdInQueryAndBodyMustAgree) {
  StartWithPolicy(Services() + kExampleRules);
  const std::int64_t before = UpstreamApiRequests();
  const HttpResponse mixed =
      AsProduction("POST", std::string(kRunNow) + "?job_id=102", R"({"job_id":101})");
  EXPECT_EQ(mixed.status, 400) << mixed.Describe();
  EXPECT_EQ(UpstreamApiRequests(), before) << "a refused call never reaches the workspace";
  const HttpResponse same =
      AsProduction("POST", std::string(kRunNow) + "?job_id=101", R"({"job_id":101})");
  EXPECT_EQ(same.status, 200) << same.Describe();
}

TEST_F(ProxyPolicyTest, SqlStatementsWithAndWithoutRowLimitFromStagingAndProduction) {
  StartWithPolicy(Services() + kExampleRules);
  const std::int64_t before = UpstreamApiRequests();
  ExpectRefused(AsStaging("POST", kStatements, Statement()), 403, "policy_denied",
                "staging-sql-row-limit", before);
  ExpectRefused(AsStaging("POST", kStatements, Statement(R"(,"row_limit":5000)")), 403,
                "policy_denied", "staging-sql-row-limit", before);

  const HttpResponse limited = AsStaging("POST", kStatements, Statement(R"(,"row_limit":1000)"));
  ASSERT_EQ(limited.status, 200) << limited.Describe();
  EXPECT_EQ(limited.Json()["status"]["state"], "SUCCEEDED") << limited.body;
  EXPECT_EQ(LastUpstreamRequest()["body"], Statement(R"(,"row_limit":1000)"))
      << "the body passes through unchanged";
  const HttpResponse few = AsStaging("POST", kStatements, Statement(R"(,"row_limit":3)"));
  ASSERT_EQ(few.status, 200) << few.Describe();
  EXPECT_EQ(few.Json()["result"]["data_array"].size(), 3U) << few.body;

  const HttpResponse unlimited = AsProduction("POST", kStatements, Statement());
  ASSERT_EQ(unlimited.status, 200) << unlimited.Describe();
  EXPECT_EQ(unlimited.Json()["result"]["data_array"].size(), 10U) << unlimited.body;
  EXPECT_EQ(AsProduction("POST", kStatements, Statement(R"(,"row_limit":5000)")).status, 200);
  // A statement that fails is still HTTP 200 upstream, and so through the proxy.
  const HttpResponse failed =
      AsProduction("POST", kStatements, R"({"statement":"SELECT FAIL","warehouse_id":"wh-1"})");
  EXPECT_EQ(failed.status, 200) << failed.Describe();
  EXPECT_EQ(failed.Json()["status"]["state"], "FAILED") << failed.body;
}

TEST_F(ProxyPolicyTest, ClustersManageOnlyForThePlatformTeam) {
  StartWithPolicy(Services() + kExampleRules);
  const std::string start = R"({"cluster_id":"0101-120000-mlbox003"})";
  const std::int64_t before = UpstreamApiRequests();
  ExpectRefused(AsProduction("POST", "/api/2.1/clusters/start", start), 403, "policy_denied",
                "clusters-manage-platform-only", before);
  ExpectRefused(AsStaging("POST", "/api/2.1/clusters/edit",
                          R"({"cluster_id":"0101-120000-shared01","spark_version":"16.0.x"})"),
                403, "policy_denied", "clusters-manage-platform-only", before);
  EXPECT_EQ(AsProduction("GET", kClusters).status, 200) << "reading is not managing";

  const HttpResponse started = AsPlatform("POST", "/api/2.1/clusters/start", start);
  EXPECT_EQ(started.status, 200) << started.Describe();
  const HttpResponse cluster =
      AsPlatform("GET", "/api/2.1/clusters/get?cluster_id=0101-120000-mlbox003");
  EXPECT_EQ(cluster.Json()["state"], "PENDING") << cluster.body;
}

// Time conditions cannot be moved to a chosen hour in a live test: the docs/policy.md rule is checked
// against what the clock says now, and windows built around now check both outcomes.
TEST_F(ProxyPolicyTest, ReportingOnlyInOfficeHours) {
  const std::string reporting = ServiceToml("reporting", "uid = 0", "env = \"production\"") +
                                RoleToml("worker") + kExampleRules;
  StartWithPolicy(reporting);
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  const int minute = utc.tm_hour * 60 + utc.tm_min;
  const bool office = utc.tm_wday >= 1 && utc.tm_wday <= 5 && minute >= 8 * 60 &&
                      minute <= 17 * 60 + 59;
  const HttpResponse call = AsProduction("GET", kClusters);
  if (office) {
    EXPECT_EQ(call.status, 200) << call.Describe();
  } else {
    EXPECT_EQ(call.status, 403) << call.Describe();
    EXPECT_EQ(Rule(call), "reporting-office-hours") << call.body;
  }

  const auto window_rule = [](const std::string& from, const std::string& to) {
    return "[[rule]]\nid = \"reporting-window\"\neffect = \"deny\"\nactions = [\"*\"]\n"
           "when = { \"service.name\" = \"reporting\" }\n"
           "unless = { \"time.utc\" = { between = [\"" + from + "\", \"" + to + "\"] } }\n";
  };
  const auto reload = [&](const std::string& policy) {
    WriteFile(agent_->policy_dir() / "test.toml", policy, 0644);
    const HttpResponse reloaded = agent_->AdminClient().Post("/v1/reload", "");
    ASSERT_EQ(reloaded.status, 200) << reloaded.Describe();
  };
  const std::string base =
      ServiceToml("reporting", "uid = 0", "env = \"production\"") + RoleToml("worker");
  reload(base + window_rule(UtcClock(-90), UtcClock(90)));
  EXPECT_EQ(AsProduction("GET", kClusters).status, 200) << "inside the window";
  reload(base + window_rule(UtcClock(120), UtcClock(240)));
  const std::int64_t before = UpstreamApiRequests();
  ExpectRefused(AsProduction("GET", kClusters), 403, "policy_denied", "reporting-window", before);
}

TEST_F(ProxyPolicyTest, RoleLimitsApplyToProxiedStatements) {
  StartWithPolicy(Services("analyst") +
                  RoleToml("analyst", "sql_row_limit_max = 100, sql_warehouses = [\"wh-1\"]"));
  const std::int64_t before = UpstreamApiRequests();
  // No rule denies; the only role does not allow these, so the default decides.
  for (const std::string& body :
       {Statement(), Statement(R"(,"row_limit":101)"),
        std::string(R"({"statement":"SELECT 1","warehouse_id":"wh-2","row_limit":5})")}) {
    const HttpResponse refused = AsProduction("POST", kStatements, body);
    EXPECT_EQ(refused.status, 403) << body << ": " << refused.Describe();
    EXPECT_EQ(ErrorCode(refused), "policy_denied") << refused.body;
  }
  EXPECT_EQ(UpstreamApiRequests(), before);
  const HttpResponse allowed = AsProduction("POST", kStatements, Statement(R"(,"row_limit":100)"));
  EXPECT_EQ(allowed.status, 200) << allowed.Describe();
}

// A role may clamp instead of refusing: the workspace sees the body with row_limit rewritten.
TEST_F(ProxyPolicyTest, ClampingRoleRewritesRowLimitBeforeForwarding) {
  StartWithPolicy(Services("analyst") +
                  RoleToml("analyst", "sql_row_limit_max = 4, sql_row_limit_clamp = true"));
  for (const std::string& extra : {std::string(), std::string(R"(,"row_limit":500)")}) {
    const HttpResponse clamped = AsProduction("POST", kStatements, Statement(extra));
    ASSERT_EQ(clamped.status, 200) << clamped.Describe();
    EXPECT_EQ(clamped.Json()["result"]["data_array"].size(), 4U) << clamped.body;
    const nlohmann::json sent =
        nlohmann::json::parse(LastUpstreamRequest().value("body", ""), nullptr, false);
    ASSERT_TRUE(sent.is_object());
    EXPECT_EQ(sent.value("row_limit", -1), 4) << sent.dump();
    EXPECT_EQ(sent.value("warehouse_id", ""), "wh-1") << "the rest of the body is kept";
  }
  const HttpResponse within = AsProduction("POST", kStatements, Statement(R"(,"row_limit":2)"));
  EXPECT_EQ(within.Json()["result"]["data_array"].size(), 2U) << within.body;
}

TEST_F(ProxyPolicyTest, RateLimitAnswers429WithRetryAfter) {
  StartWithPolicy(Services("paced") +
                  "[[role]]\nname = \"paced\"\ncredential = \"" + kCredential +
                  "\"\nactions = [\"clusters.*\"]\nlimits = { requests_per_minute = 5 }\n\n");
  UnixHttpClient client = agent_->Client();
  for (int i = 0; i < 5; ++i) {
    const HttpResponse ok = client.Get(kClusters);
    ASSERT_EQ(ok.status, 200) << "call " << i << ": " << ok.Describe();
  }
  const std::int64_t before = UpstreamApiRequests();
  const HttpResponse limited = client.Get(kClusters);
  ExpectRefused(limited, 429, "rate_limited", "", before);
  EXPECT_NE(Rule(limited).find("paced"), std::string::npos) << "names the role: " << limited.body;
  const std::string retry_after = limited.Header("retry-after");
  ASSERT_FALSE(retry_after.empty()) << limited.Describe();
  EXPECT_GE(std::stoi(retry_after), 1);
  EXPECT_LE(std::stoi(retry_after), 60);
  // Another service has its own budget.
  EXPECT_EQ(AsStaging("GET", kClusters).status, 200);
}

TEST_F(ProxyPolicyTest, MaintenanceAnswers503WithoutCallingTheWorkspace) {
  StartWithPolicy(Services() + kExampleRules);
  ASSERT_EQ(AsProduction("GET", kClusters).status, 200);
  const HttpResponse on = agent_->AdminClient().Post(
      "/v1/maintenance", R"({"scope":"service","target":"production","reason":"INC-7"})");
  ASSERT_EQ(on.status / 100, 2) << on.Describe();
  const std::int64_t before = UpstreamApiRequests();
  const HttpResponse refused = AsProduction("GET", kClusters);
  ExpectRefused(refused, 503, "maintenance", "", before);
  EXPECT_FALSE(refused.Header("retry-after").empty()) << refused.Describe();
  EXPECT_NE(ErrorMessage(refused).find("INC-7"), std::string::npos) << refused.body;
  EXPECT_EQ(AsStaging("GET", kClusters).status, 200) << "only that service is switched off";
}

TEST_F(ProxyPolicyTest, UnidentifiedCallerIsRefusedBeforeAnyUpstreamCall) {
  StartWithPolicy(Services() + kExampleRules);
  const std::int64_t before = UpstreamApiRequests();
  const HttpResponse refused =
      RequestAs(UserIdentity(kNobodyUid, kNobodyUid), agent_->socket(), "GET", kClusters);
  ExpectRefused(refused, 403, "unidentified", "", before);
}

TEST_F(ProxyPolicyTest, UpstreamRateLimitAndOutagePassThroughWithRetryAfter) {
  StartWithPolicy(Services() + kExampleRules);
  ASSERT_EQ(AsProduction("GET", kClusters).status, 200);  // token cached
  for (const int status : {429, 503}) {
    ASSERT_TRUE(fake_->InjectFault({{"target", "api"}, {"status", status}, {"retry_after", 7}})
                    .ok());
    const HttpResponse passed = AsProduction("GET", kClusters);
    EXPECT_EQ(passed.status, status) << passed.Describe();
    EXPECT_EQ(passed.Header("retry-after"), "7") << passed.Describe();
    EXPECT_EQ(passed.Json().value("error_code", ""),
              status == 429 ? "REQUEST_LIMIT_EXCEEDED" : "TEMPORARILY_UNAVAILABLE")
        << "the workspace's own answer: " << passed.body;
  }
  EXPECT_EQ(AsProduction("GET", kClusters).status, 200);
}

}  // namespace
}  // namespace dbproxy::testing

namespace dbproxy::testing {
namespace {

// The audit line names the attributes that decided: the service's (from the policy the call was
// decided with) and the request facts read from the body, together.
TEST_F(ProxyPolicyTest, AuditLineOfAStatementHasTheServiceAttributesAndTheFacts) {
  StartWithPolicy(Services() + kExampleRules);
  const HttpResponse ran = AsProduction("POST", kStatements, Statement(R"(,"row_limit":10)"));
  ASSERT_EQ(ran.status, 200) << ran.Describe();
  nlohmann::json line;
  ASSERT_TRUE(WaitFor(
      [&] {
        std::istringstream audit(ReadFile(agent_->audit_file()));
        for (std::string text; std::getline(audit, text);) {
          const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
          if (parsed.is_object() && parsed.value("request_id", "") == ran.Header("x-request-id")) {
            line = parsed;
          }
        }
        return line.is_object();
      },
      std::chrono::seconds(5)));
  ASSERT_TRUE(line.contains("attributes")) << line.dump();
  EXPECT_EQ(line["attributes"].value("service.env", ""), "production") << line.dump();
  EXPECT_EQ(line["attributes"].value("service.team", ""), "billing") << line.dump();
  EXPECT_EQ(line["attributes"].value("request.warehouse", ""), "wh-1") << line.dump();
  EXPECT_EQ(line["attributes"].value("request.row_limit", ""), "10") << line.dump();
}

}  // namespace
}  // namespace dbproxy::testing
