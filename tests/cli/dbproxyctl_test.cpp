// End-to-end tests: the real dbproxyctl binary against a FakeAgent on a temporary socket.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/cli/child_process.hpp"
#include "tests/cli/fake_agent.hpp"

namespace dbproxy::cli::testing {
namespace {

class DbproxyctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/dbproxyctl-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    socket_ = (dir_ / "s.sock").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ChildResult Run(const std::vector<std::string>& args,
                  const std::optional<std::string>& stdin_data = std::nullopt) {
    return RunChild(DBPROXYCTL_PATH, args, stdin_data);
  }

  std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  std::filesystem::path dir_;
  std::string socket_;
};

constexpr char kEnrolled[] =
    R"({"workspace":"prod ws","host":"https://adb-1.net/","credential":"etl-sp",)"
    R"("client_id":"id/1&x"})";

TEST_F(DbproxyctlTest, EnrollSendsRawSecretInPut) {
  const FakeAgent agent(socket_, JsonResponse(201, kEnrolled));
  const std::string secret_file = WriteFile("secret", "s3cr3t value\n");
  const ChildResult result =
      Run({"--admin-socket", socket_, "enroll", "prod ws", "--host", "https://adb-1.net/",
           "--credential", "etl-sp", "--client-id", "id/1&x", "--secret-file", secret_file});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "enrolled credential etl-sp for workspace prod ws (https://adb-1.net/)\n");
  EXPECT_EQ(result.err, "");
  const std::vector<RecordedRequest> requests = agent.requests();
  ASSERT_EQ(requests.size(), 1U);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].target,
            "/v1/workspaces/prod%20ws/credentials/etl-sp"
            "?host=https%3A%2F%2Fadb-1.net%2F&client_id=id%2F1%26x");
  EXPECT_EQ(requests[0].headers.at("content-type"), "application/octet-stream");
  EXPECT_EQ(requests[0].body, "s3cr3t value");
}

TEST_F(DbproxyctlTest, EnrollReadsPipedStdinWithCrlf) {
  const FakeAgent agent(socket_, JsonResponse(201, kEnrolled));
  const ChildResult result =
      Run({"enroll", "prod", "--host", "https://h", "--credential", "c", "--client-id", "i",
           "--admin-socket", socket_},
          std::string("piped-secret\r\n"));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(agent.requests().size(), 1U);
  EXPECT_EQ(agent.requests()[0].body, "piped-secret");
}

TEST_F(DbproxyctlTest, EnrollRefusesEmptySecretWithoutCallingAgent) {
  const FakeAgent agent(socket_, JsonResponse(201, kEnrolled));
  const ChildResult result = Run({"--admin-socket", socket_, "enroll", "prod", "--host", "h",
                                  "--credential", "c", "--client-id", "i"},
                                 std::string("\n"));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "dbproxyctl: the secret is empty\n");
  EXPECT_TRUE(agent.requests().empty());
}

TEST_F(DbproxyctlTest, SecretOnCommandLineIsRefusedWithoutEchoingIt) {
  const ChildResult result = Run({"enroll", "prod", "--host", "h", "--credential", "c",
                                  "--client-id", "i", "--secret=hunter2"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.err.find("hunter2"), std::string::npos) << result.err;
}

constexpr char kToken[] =
    R"({"access_token":"dapi-secret-token","token_type":"Bearer","expires_in":3600,)"
    R"("expires_at":1700003600,"scope":"sql","workspace":"prod","host":"https://h"})";

// A table of audit records keeps one line per record, and a control byte inside a field is
// neutralised without touching the line breaks between rows.
TEST_F(DbproxyctlTest, AuditTailPrintsOneLinePerRecord) {
  const FakeAgent agent(
      socket_, JsonResponse(200, R"({"records":[)"
                                 R"({"time":"t1","service":"a","uid":1,"action":"whoami","decision":"allow","rule":"","status":200,"request_id":"r1"},)"
                                 R"({"time":"t2","service":"b\u001b[31m","uid":2,"action":"token","decision":"deny","rule":"x","status":403,"request_id":"r2"}],)"
                                 R"("last_seq":2})"));
  const ChildResult result = Run({"--admin-socket", socket_, "audit", "tail", "-n", "2"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  int lines = 0;
  for (const char c : result.out) lines += c == '\n' ? 1 : 0;
  EXPECT_EQ(lines, 3) << result.out;
  EXPECT_EQ(result.out.find('\x1b'), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("\nt2 "), std::string::npos) << result.out;
}

TEST_F(DbproxyctlTest, TokenPrintsOnlyTheToken) {
  const FakeAgent agent(socket_, JsonResponse(200, kToken));
  const ChildResult result = Run({"--socket", socket_, "token", "--scope", "sql", "--min-ttl",
                                  "120", "--workspace", "prod"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "dapi-secret-token\n");
  EXPECT_EQ(result.err, "");
  const std::vector<RecordedRequest> requests = agent.requests();
  ASSERT_EQ(requests.size(), 1U);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1/token");
  EXPECT_EQ(requests[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(requests[0].body),
            nlohmann::json::parse(R"({"workspace":"prod","scope":"sql","min_ttl_seconds":120})"));
}

TEST_F(DbproxyctlTest, TokenWithJsonPrintsWholeAnswer) {
  const FakeAgent agent(socket_, JsonResponse(200, kToken));
  const ChildResult result = Run({"token", "--json", "--socket", socket_});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(nlohmann::json::parse(result.out), nlohmann::json::parse(kToken));
  ASSERT_EQ(agent.requests().size(), 1U);
  EXPECT_EQ(agent.requests()[0].body, "{}");
}

TEST_F(DbproxyctlTest, AgentErrorIsOneLineAndExitOne) {
  const std::string error =
      R"({"error":{"code":"policy_denied","message":"scope sql is not allowed","rule":"etl"}})";
  const FakeAgent agent(socket_, JsonResponse(403, error));
  const ChildResult plain = Run({"--socket", socket_, "token"});
  EXPECT_EQ(plain.exit_code, 1);
  EXPECT_EQ(plain.out, "");
  EXPECT_EQ(plain.err, "dbproxyctl: scope sql is not allowed (policy_denied, rule etl)\n");
  const ChildResult json = Run({"--socket", socket_, "--json", "token"});
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(json.out), nlohmann::json::parse(error));
}

TEST_F(DbproxyctlTest, WorkspacesTable) {
  const FakeAgent agent(socket_, JsonResponse(200, R"({"workspaces":[{"name":"prod",
      "host":"https://h","credentials":[{"name":"etl-sp","client_id":"abc",
      "enrolled_at":1700000000}]},{"name":"empty","host":"https://e","credentials":[]}]})"));
  const ChildResult result = Run({"--admin-socket", socket_, "workspaces"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "WORKSPACE  HOST       CREDENTIAL  CLIENT_ID  KIND    ENROLLED\n"
            "prod       https://h  etl-sp      abc        secret  2023-11-14T22:13:20Z\n"
            "empty      https://e  -           -          -       -\n");
  ASSERT_EQ(agent.requests().size(), 1U);
  EXPECT_EQ(agent.requests()[0].method, "GET");
  EXPECT_EQ(agent.requests()[0].target, "/v1/workspaces");
}

TEST_F(DbproxyctlTest, RemoveCredentialSendsDelete) {
  const FakeAgent agent(socket_, JsonResponse(200, R"({"removed":"etl/sp"})"));
  const ChildResult result =
      Run({"--admin-socket", socket_, "remove", "prod", "--credential", "etl/sp"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "removed credential etl/sp from workspace prod\n");
  ASSERT_EQ(agent.requests().size(), 1U);
  EXPECT_EQ(agent.requests()[0].method, "DELETE");
  EXPECT_EQ(agent.requests()[0].target, "/v1/workspaces/prod/credentials/etl%2Fsp");
}

TEST_F(DbproxyctlTest, ExplainSendsJwtClaimsAndRepeatedKeysAsLists) {
  const FakeAgent agent(socket_, JsonResponse(200, R"({"decision":{"effect":"deny",
      "rule":"require_jwt","reason":"no token"},"service":"app","trace":[]})"));
  const ChildResult result =
      Run({"--admin-socket", socket_, "explain", "--uid", "1000", "--jwt-idp", "corp",
           "--jwt-claim", "sub=alice", "--jwt-claim", "groups=a", "--jwt-claim", "groups=b=c",
           "jobs.run"});
  EXPECT_EQ(result.exit_code, 1) << result.err;  // deny
  ASSERT_EQ(agent.requests().size(), 1U);
  EXPECT_EQ(agent.requests()[0].target, "/v1/explain");
  const nlohmann::json body = nlohmann::json::parse(agent.requests()[0].body);
  EXPECT_EQ(body["action"], "jobs.run");
  EXPECT_EQ(body["jwt"], nlohmann::json::parse(
                             R"({"idp":"corp","claims":{"sub":"alice","groups":["a","b=c"]}})"));
}

TEST_F(DbproxyctlTest, ExplainSendsSamlAttributesAndRepeatedNamesAsLists) {
  const FakeAgent agent(socket_, JsonResponse(200, R"({"decision":{"effect":"allow",
      "rule":"etl","reason":"allowed"},"service":"app","trace":[]})"));
  const ChildResult result =
      Run({"--admin-socket", socket_, "explain", "--uid", "1000", "--saml-idp", "corp-saml",
           "--saml-attribute", "name_id=alice@corp.example", "--saml-attribute", "groups=a",
           "--saml-attribute", "groups=b=c", "jobs.run"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(agent.requests().size(), 1U);
  const nlohmann::json body = nlohmann::json::parse(agent.requests()[0].body);
  EXPECT_EQ(body["action"], "jobs.run");
  EXPECT_FALSE(body.contains("jwt"));
  EXPECT_EQ(body["saml"], nlohmann::json::parse(R"({"idp":"corp-saml",
      "attributes":{"name_id":"alice@corp.example","groups":["a","b=c"]}})"));
  EXPECT_EQ(Run({"--admin-socket", socket_, "explain", "--saml-idp", "s", "--saml-attribute",
                 "novalue", "jobs.run"})
                .exit_code,
            2);
  EXPECT_EQ(Run({"--admin-socket", socket_, "explain", "--saml-attribute", "a=b", "jobs.run"})
                .exit_code,
            2)
      << "an attribute needs its provider";
}

TEST_F(DbproxyctlTest, ExplainJwtClaimNeedsIdpAndKeyValue) {
  EXPECT_EQ(Run({"--admin-socket", socket_, "explain", "--jwt-claim", "sub=a", "jobs.run"})
                .exit_code,
            2);
  EXPECT_EQ(Run({"--admin-socket", socket_, "explain", "--jwt-idp", "corp", "--jwt-claim",
                 "novalue", "jobs.run"})
                .exit_code,
            2);
  EXPECT_EQ(Run({"--admin-socket", socket_, "explain", "--jwt-idp", "corp", "--jwt-claim",
                 "=x", "jobs.run"})
                .exit_code,
            2);
}

TEST_F(DbproxyctlTest, NonJsonAnswerExitsOne) {
  const FakeAgent agent(socket_,
                        "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 4\r\nConnection: close\r\n"
                        "\r\noops");
  const ChildResult result = Run({"--admin-socket", socket_, "status"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "dbproxyctl: unexpected answer from dbproxyd (HTTP 502, not JSON)\n");
}

TEST_F(DbproxyctlTest, MissingSocketExitsThree) {
  const std::string missing = (dir_ / "absent.sock").string();
  const ChildResult result = Run({"--admin-socket", missing, "status"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.err,
            "dbproxyctl: cannot reach dbproxyd at " + missing + ": No such file or directory\n");
}

TEST_F(DbproxyctlTest, UsageErrorExitsTwo) {
  EXPECT_EQ(Run({"token", "--min-ttl", "-5"}).exit_code, 2);
  EXPECT_EQ(Run({"enroll", "prod"}).exit_code, 2);
  EXPECT_EQ(Run({}).exit_code, 2);
  EXPECT_EQ(Run({"--version"}).exit_code, 0);
}

}  // namespace
}  // namespace dbproxy::cli::testing
