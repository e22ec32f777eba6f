// Smoke tests of dbproxy-fake-workspace: the real binary, over real TLS, verified against the CA
// it writes. Each test starts its own process and the fixture always kills it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "common/identity/jwks.hpp"
#include "common/identity/jwt.hpp"
#include "tests/fake_workspace/test_support.hpp"

namespace dbproxy::fake::testing {
namespace {

constexpr const char* kClients =
    "# id secret [allowed scopes]\n"
    "svc s3cr+t/=%\n"
    "narrow narrow-secret clusters:read,sql\n";

const std::string kFormType = "Content-Type: application/x-www-form-urlencoded";

std::string BasicHeader(const std::string& encoded_id, const std::string& encoded_secret) {
  return "Authorization: Basic " + Base64(encoded_id + ":" + encoded_secret);
}

// "svc" with its secret URL-encoded per RFC 6749 §2.3.1.
const std::string kSvcBasic = BasicHeader("svc", "s3cr%2Bt%2F%3D%25");

class FakeWorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(const std::vector<std::string>& args) {
    workspace_.reset();
    workspace_ = std::make_unique<FakeWorkspaceProcess>(kClients, args);
  }

  HttpResponse TokenRequest(const std::string& form, const std::string& auth = kSvcBasic) {
    std::vector<std::string> headers = {kFormType};
    if (!auth.empty()) headers.push_back(auth);
    return workspace_->Request("POST", "/oidc/v1/token", form, headers);
  }

  std::string Token(const std::string& form = "grant_type=client_credentials",
                    const std::string& auth = kSvcBasic) {
    const HttpResponse response = TokenRequest(form, auth);
    EXPECT_EQ(response.status, 200) << response.body;
    return response.Json().value("access_token", "");
  }

  HttpResponse Api(const std::string& method, const std::string& path, const std::string& token,
                   const std::string& body = "") {
    std::vector<std::string> headers = {"Content-Type: application/json"};
    if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
    return workspace_->Request(method, path, body, headers);
  }

  HttpResponse Control(const std::string& path, const std::string& body) {
    return workspace_->Request("POST", path, body, {"Content-Type: application/json"});
  }

  std::unique_ptr<FakeWorkspaceProcess> workspace_;
};

// The fake identity provider signs on OpenSSL directly; common/identity verifies here, so the
// two implementations check each other.
TEST_F(FakeWorkspaceTest, IdpPublishesKeysAndSignsTokensThatVerify) {
  const HttpResponse discovery =
      workspace_->Request("GET", "/idp/.well-known/openid-configuration");
  ASSERT_EQ(discovery.status, 200) << discovery.error;
  const std::string issuer = workspace_->url() + "/idp";
  EXPECT_EQ(discovery.Json()["issuer"], issuer);
  EXPECT_EQ(discovery.Json()["jwks_uri"], issuer + "/jwks");
  const HttpResponse minted = Control(
      "/_fake/idp/token", R"({"sub":"alice","aud":"dbproxy","claims":{"groups":["eng"]}})");
  ASSERT_EQ(minted.status, 200) << minted.body;
  const std::string token = minted.Json().value("token", "");

  const auto verify = [&](const std::string& jwt) {
    const HttpResponse jwks = workspace_->Request("GET", "/idp/jwks");
    EXPECT_EQ(jwks.status, 200);
    Result<Jwks> keys = ParseJwks(jwks.body);
    EXPECT_TRUE(keys) << keys.error().message;
    Result<ParsedJwt> parsed = ParseJwt(jwt);
    EXPECT_TRUE(parsed) << parsed.error().message;
    if (!keys || !parsed) return std::string("unparsed");
    const JwtPolicy policy{.issuer = issuer, .audiences = {"dbproxy"}, .algorithms = {"ES256"}};
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    const JwtVerification verified = VerifyJwt(*parsed, *keys, policy, now);
    return verified ? verified->subject : verified.error().reason;
  };
  EXPECT_EQ(verify(token), "alice");

  // After a rotation both keys are published: old tokens still verify, new ones too.
  ASSERT_EQ(Control("/_fake/idp/rotate", "").status, 200);
  EXPECT_EQ(verify(token), "alice");
  const HttpResponse rotated = Control("/_fake/idp/token", R"({"sub":"bob","aud":"dbproxy"})");
  EXPECT_EQ(verify(rotated.Json().value("token", "")), "bob");

  ASSERT_EQ(Control("/_fake/idp/jwks", R"({"down":true})").status, 200);
  EXPECT_EQ(workspace_->Request("GET", "/idp/jwks").status, 503);
  const HttpResponse stats = workspace_->Request("GET", "/_fake/idp/stats");
  EXPECT_EQ(stats.Json().value("jwks_fetches", 0), 4);
}

TEST_F(FakeWorkspaceTest, ServesDiscoveryAndNotDatabricksConfig) {
  const HttpResponse discovery =
      workspace_->Request("GET", "/oidc/.well-known/oauth-authorization-server");
  ASSERT_EQ(discovery.status, 200) << discovery.error;
  EXPECT_EQ(discovery.Json()["issuer"], workspace_->url() + "/oidc");
  EXPECT_EQ(discovery.Json()["token_endpoint"], workspace_->url() + "/oidc/v1/token");
  EXPECT_FALSE(discovery.headers.at("x-request-id").empty());
  EXPECT_EQ(workspace_->Request("GET", "/.well-known/databricks-config").status, 404);
}

TEST_F(FakeWorkspaceTest, IssuesTokenWithBasicAuth) {
  const HttpResponse response = TokenRequest("grant_type=client_credentials&scope=all-apis");
  ASSERT_EQ(response.status, 200) << response.body;
  const auto json = response.Json();
  EXPECT_EQ(json["token_type"], "Bearer");
  EXPECT_EQ(json["expires_in"], 3600);
  EXPECT_EQ(json["scope"], "all-apis");
  EXPECT_EQ(json["access_token"].get<std::string>().rfind("eyJ", 0), 0U);
  EXPECT_EQ(response.headers.at("cache-control"), "no-store");
  EXPECT_EQ(response.headers.at("content-type"), "application/json");
}

TEST_F(FakeWorkspaceTest, IssuesTokenWithFormCredentials) {
  const HttpResponse response = TokenRequest(
      "grant_type=client_credentials&client_id=narrow&client_secret=narrow-secret"
      "&scope=clusters%3Aread+sql",
      "");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.Json()["scope"], "clusters:read sql");
}

TEST_F(FakeWorkspaceTest, RejectsBadClients) {
  const HttpResponse wrong =
      TokenRequest("grant_type=client_credentials", BasicHeader("svc", "wrong"));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.Json()["error"], "invalid_client");
  EXPECT_EQ(wrong.Json()["error_description"], "Client authentication failed");
  EXPECT_TRUE(wrong.Json().contains("error_id"));
  EXPECT_EQ(TokenRequest("grant_type=client_credentials", BasicHeader("nobody", "x")).status, 401);
  const HttpResponse both =
      TokenRequest("grant_type=client_credentials&client_id=svc&client_secret=x");
  EXPECT_EQ(both.status, 400);
  EXPECT_EQ(both.Json()["error"], "invalid_request");
}

TEST_F(FakeWorkspaceTest, RejectsBadScopesAndGrants) {
  EXPECT_EQ(TokenRequest("grant_type=client_credentials&scope=bogus").Json()["error"],
            "invalid_scope");
  const HttpResponse not_allowed = TokenRequest("grant_type=client_credentials&scope=jobs",
                                                BasicHeader("narrow", "narrow-secret"));
  EXPECT_EQ(not_allowed.status, 400);
  EXPECT_EQ(not_allowed.Json()["error"], "invalid_scope");
  const HttpResponse password = TokenRequest("grant_type=password");
  EXPECT_EQ(password.status, 400);
  EXPECT_EQ(password.Json()["error"], "unsupported_grant_type");
  EXPECT_EQ(TokenRequest("scope=all-apis").Json()["error"], "invalid_request");
}

TEST_F(FakeWorkspaceTest, AuthenticatesApiCalls) {
  const HttpResponse missing = Api("GET", "/api/2.1/clusters/list", "");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.Json()["error_code"], 401);
  const HttpResponse invalid = Api("GET", "/api/2.1/clusters/list", "eyJnot.a.token");
  EXPECT_EQ(invalid.status, 403);
  EXPECT_EQ(invalid.Json()["message"], "Invalid access token.");

  const std::string token = Token();
  const HttpResponse clusters = Api("GET", "/api/2.1/clusters/list", token);
  ASSERT_EQ(clusters.status, 200) << clusters.body;
  EXPECT_EQ(clusters.Json()["clusters"].size(), 3U);
  EXPECT_EQ(Api("GET", "/api/2.2/jobs/list", token).Json()["has_more"], false);
  EXPECT_EQ(Api("GET", "/api/2.0/preview/scim/v2/Me", token).Json()["userName"], "svc");
  const HttpResponse unknown = Api("GET", "/api/2.0/no/such/thing", token);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.Json()["message"], "No API found for 'GET /no/such/thing'");
}

TEST_F(FakeWorkspaceTest, EnforcesTokenScopes) {
  const std::string token = Token("grant_type=client_credentials&scope=clusters%3Aread",
                                  BasicHeader("narrow", "narrow-secret"));
  EXPECT_EQ(Api("GET", "/api/2.0/clusters/list", token).status, 200);
  const HttpResponse create = Api("POST", "/api/2.1/clusters/create", token,
                                  R"({"cluster_name":"x","spark_version":"15.4.x-scala2.12"})");
  EXPECT_EQ(create.status, 403);
  EXPECT_EQ(create.Json()["error_code"], "PERMISSION_DENIED");
  EXPECT_EQ(Api("GET", "/api/2.1/jobs/list", token).status, 403);
}

TEST_F(FakeWorkspaceTest, RunsSqlStatements) {
  const std::string token = Token();
  const HttpResponse ok = Api("POST", "/api/2.0/sql/statements", token,
                              R"({"statement":"SELECT 1","warehouse_id":"wh-1","row_limit":3})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.Json()["manifest"]["truncated"], true);
  EXPECT_EQ(ok.Json()["result"]["data_array"].size(), 3U);
  const std::string id = ok.Json()["statement_id"];
  EXPECT_EQ(Api("GET", "/api/2.0/sql/statements/" + id, token).Json()["statement_id"], id);
  const HttpResponse failed = Api("POST", "/api/2.0/sql/statements", token,
                                  R"({"statement":"SELECT FAIL","warehouse_id":"wh-1"})");
  EXPECT_EQ(failed.status, 200);
  EXPECT_EQ(failed.Json()["status"]["state"], "FAILED");
  EXPECT_EQ(Api("POST", "/api/2.0/sql/statements", token, R"({"statement":"SELECT 1"})")
                .Json()["error_code"],
            "INVALID_PARAMETER_VALUE");
}

TEST_F(FakeWorkspaceTest, SqlStatementsHonourWarehouseLimitsAndDisposition) {
  const std::string token = Token();
  const HttpResponse unknown = Api("POST", "/api/2.0/sql/statements", token,
                                   R"({"statement":"SELECT 1","warehouse_id":"nope"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.Json()["message"], "nope is not a valid endpoint id.");
  const HttpResponse bytes = Api("POST", "/api/2.0/sql/statements", token,
                                 R"({"statement":"SELECT 1","warehouse_id":"wh-2","byte_limit":30})");
  ASSERT_EQ(bytes.status, 200) << bytes.body;
  EXPECT_EQ(bytes.Json()["result"]["data_array"].size(), 2U);  // ["1","row-1"] is 13 bytes
  EXPECT_EQ(bytes.Json()["manifest"]["truncated"], true);
  EXPECT_EQ(Api("POST", "/api/2.0/sql/statements", token,
                R"({"statement":"SELECT 1","warehouse_id":"wh-1","format":"CSV"})")
                .status,
            400);

  const HttpResponse linked = Api(
      "POST", "/api/2.0/sql/statements", token,
      R"({"statement":"SELECT 1","warehouse_id":"wh-1","disposition":"EXTERNAL_LINKS"})");
  ASSERT_EQ(linked.status, 200) << linked.body;
  const std::string link = linked.Json()["result"]["external_links"][0]["external_link"];
  ASSERT_EQ(link.rfind(workspace_->url() + "/fake-storage/", 0), 0U) << link;
  const std::string path = link.substr(workspace_->url().size());
  EXPECT_EQ(Api("GET", path, token).status, 400) << "a pre-signed URL refuses a bearer token";
  const HttpResponse rows = Api("GET", path, "");
  ASSERT_EQ(rows.status, 200) << rows.body;
  EXPECT_EQ(rows.Json().size(), 10U);
  EXPECT_EQ(Api("GET", "/api/2.0/sql/warehouses", token).Json()["warehouses"].size(), 3U);
}

TEST_F(FakeWorkspaceTest, SubmitsListsAndGetsJobRuns) {
  const std::string token = Token();
  const std::string submit =
      R"({"run_name":"adhoc","idempotency_token":"t-1","tasks":[{"task_key":"a"}]})";
  const HttpResponse first = Api("POST", "/api/2.1/jobs/runs/submit", token, submit);
  ASSERT_EQ(first.status, 200) << first.body;
  const auto run_id = first.Json()["run_id"].get<std::int64_t>();
  EXPECT_EQ(Api("POST", "/api/2.1/jobs/runs/submit", token, submit).Json()["run_id"], run_id);
  EXPECT_EQ(Api("POST", "/api/2.2/jobs/runs/submit", token, R"({"run_name":"x"})").status, 400);
  const HttpResponse now = Api("POST", "/api/2.2/jobs/run-now", token, R"({"job_id":102})");
  ASSERT_EQ(now.status, 200) << now.body;

  const HttpResponse all = Api("GET", "/api/2.2/jobs/runs/list", token);
  ASSERT_EQ(all.Json()["runs"].size(), 2U) << all.body;
  EXPECT_EQ(all.Json()["runs"][0]["job_id"], 102) << "newest first";
  EXPECT_EQ(Api("GET", "/api/2.1/jobs/runs/list?job_id=102", token).Json()["runs"].size(), 1U);
  const HttpResponse run =
      Api("GET", "/api/2.1/jobs/runs/get?run_id=" + std::to_string(run_id), token);
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_EQ(run.Json()["run_name"], "adhoc");
  EXPECT_EQ(run.Json()["state"]["life_cycle_state"], "TERMINATED");
  EXPECT_EQ(Api("GET", "/api/2.1/jobs/runs/get?run_id=1", token).status, 400);
}

TEST_F(FakeWorkspaceTest, EditsAndStartsClusters) {
  const std::string token = Token();
  const HttpResponse edit = Api(
      "POST", "/api/2.1/clusters/edit", token,
      R"({"cluster_id":"0101-120000-shared01","spark_version":"16.0.x","num_workers":8})");
  ASSERT_EQ(edit.status, 200) << edit.body;
  const auto cluster =
      Api("GET", "/api/2.1/clusters/get?cluster_id=0101-120000-shared01", token).Json();
  EXPECT_EQ(cluster["num_workers"], 8);
  EXPECT_EQ(Api("POST", "/api/2.1/clusters/edit", token, R"({"cluster_id":"0101-120000-shared01"})")
                .status,
            400);
  const HttpResponse running =
      Api("POST", "/api/2.1/clusters/start", token, R"({"cluster_id":"0101-120000-shared01"})");
  EXPECT_EQ(running.Json()["error_code"], "INVALID_STATE");
  EXPECT_EQ(
      Api("POST", "/api/2.0/clusters/start", token, R"({"cluster_id":"0101-120000-mlbox003"})")
          .status,
      200);
}

TEST_F(FakeWorkspaceTest, InjectsFaultsInOrder) {
  ASSERT_EQ(Control("/_fake/faults", R"({"target":"token","count":2,"status":503,"retry_after":7})")
                .status,
            200);
  for (int i = 0; i < 2; ++i) {
    const HttpResponse faulted = TokenRequest("grant_type=client_credentials");
    EXPECT_EQ(faulted.status, 503);
    EXPECT_EQ(faulted.headers.count("retry-after") ? faulted.headers.at("retry-after") : "", "7");
  }
  EXPECT_EQ(TokenRequest("grant_type=client_credentials").status, 200);
  const auto counters = workspace_->Request("GET", "/_fake/counters").Json();
  EXPECT_EQ(counters["token_requests"], 3);
  EXPECT_EQ(counters["token_grants"]["svc"], 1);

  ASSERT_EQ(Control("/_fake/faults", R"({"target":"api","drop":true})").status, 200);
  workspace_->set_fresh_connections(true);
  const HttpResponse dropped = Api("GET", "/api/2.1/clusters/list", "x");
  EXPECT_EQ(dropped.status, 0);
  EXPECT_FALSE(dropped.error.empty());
  EXPECT_EQ(Api("GET", "/api/2.1/clusters/list", "x").status, 403);
}

TEST_F(FakeWorkspaceTest, FailsHandshakesByCountOrForAWhile) {
  workspace_->set_fresh_connections(true);
  // Counted from the connection after the control request's own.
  ASSERT_EQ(Control("/_fake/faults", R"({"target":"handshake","count":3})").status, 200);
  EXPECT_EQ(TokenRequest("grant_type=client_credentials").status, 0);
  EXPECT_EQ(TokenRequest("grant_type=client_credentials").status, 0);
  EXPECT_EQ(TokenRequest("grant_type=client_credentials").status, 0);
  EXPECT_EQ(TokenRequest("grant_type=client_credentials").status, 200);

  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(Control("/_fake/faults", R"({"target":"handshake","for_ms":700})").status, 200);
  int failed = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(500)) {
    failed += TokenRequest("grant_type=client_credentials").status == 0 ? 1 : 0;
  }
  EXPECT_GE(failed, 1);
  std::this_thread::sleep_until(start + std::chrono::milliseconds(800));
  EXPECT_EQ(TokenRequest("grant_type=client_credentials").status, 200);

  EXPECT_EQ(Control("/_fake/faults", R"({"target":"handshake","count":1,"for_ms":5})").status,
            400);
  EXPECT_EQ(Control("/_fake/faults", R"({"target":"token","status":500,"for_ms":5})").status,
            400);
}

TEST_F(FakeWorkspaceTest, LogsRequestHeadersAndBodiesAsReceived) {
  const HttpResponse listed = Api("GET", "/api/2.1/clusters/list", "caller-token");
  EXPECT_EQ(listed.headers.at("x-databricks-request-id"), listed.headers.at("x-request-id"));
  const std::string small = R"({"statement":"SELECT 1","warehouse_id":"wh-1","row_limit":5})";
  Api("POST", "/api/2.0/sql/statements", "caller-token", small);
  Api("POST", "/api/2.0/sql/statements", "caller-token", std::string(5000, ' '));
  const auto log = workspace_->Request("GET", "/_fake/requests?limit=3").Json();
  ASSERT_EQ(log.size(), 3U);
  EXPECT_EQ(log[0]["target"], "/api/2.1/clusters/list");
  EXPECT_EQ(log[0]["headers"]["Authorization"], "Bearer caller-token");
  EXPECT_EQ(log[0]["body_bytes"], 0);
  EXPECT_EQ(log[1]["body"], small);
  EXPECT_EQ(log[2]["body_bytes"], 5000);
  EXPECT_FALSE(log[2].contains("body")) << "large bodies are not kept";
}

TEST_F(FakeWorkspaceTest, ServesFromSeveralThreads) {
  Start({"--threads", "3"});
  const std::string token = Token();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      FakeWorkspaceProcess::Client client(*workspace_);
      for (int i = 0; i < 20; ++i) {
        if (client.Request("GET", "/api/2.1/clusters/list", "",
                           {"Authorization: Bearer " + token})
                .status == 200) {
          ++ok;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 80);
  EXPECT_EQ(workspace_->Request("GET", "/_fake/counters").Json()["api_requests"], 80);
}

TEST_F(FakeWorkspaceTest, StreamsLargeBlobs) {
  const HttpResponse blob = Api("GET", "/api/2.0/fake/blob?bytes=200000", Token());
  ASSERT_EQ(blob.status, 200);
  ASSERT_EQ(blob.body.size(), 200000U);
  EXPECT_EQ(blob.body[0], 'a');
  EXPECT_EQ(blob.body[199999], static_cast<char>('a' + 199999 % 26));
}

TEST_F(FakeWorkspaceTest, RevokeAllInvalidatesTokens) {
  const std::string token = Token();
  EXPECT_EQ(Api("GET", "/api/2.1/clusters/list", token).status, 200);
  ASSERT_EQ(Control("/_fake/tokens/revoke-all", "").status, 200);
  const HttpResponse revoked = Api("GET", "/api/2.1/clusters/list", token);
  EXPECT_EQ(revoked.status, 403);
  EXPECT_EQ(revoked.Json()["message"], "Invalid access token.");
}

TEST_F(FakeWorkspaceTest, TokensExpire) {
  Start({"--token-lifetime", "1"});
  const std::string token = Token();
  EXPECT_EQ(Api("GET", "/api/2.1/clusters/list", token).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const HttpResponse expired = Api("GET", "/api/2.1/clusters/list", token);
  EXPECT_EQ(expired.status, 403);
  EXPECT_EQ(expired.Json()["message"], "JWT has expired");
}

TEST_F(FakeWorkspaceTest, ExitsZeroOnSigterm) {
  EXPECT_EQ(workspace_->Terminate(), 0);
}

}  // namespace
}  // namespace dbproxy::fake::testing
