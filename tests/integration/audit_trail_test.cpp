// The tamper-evident audit trail of a real dbproxyd: one chained line per request of every kind,
// fail-closed while the file cannot be written and recovery after, rotation by rename + signal
// and by copytruncate, fsync = "always", the /v1/audit reader and `dbproxyctl audit`.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "tests/integration/harness/integration_fixture.hpp"

namespace dbproxy::testing {
namespace {

std::vector<nlohmann::json> Records(const std::filesystem::path& file) {
  std::vector<nlohmann::json> out;
  std::istringstream in(ReadFile(file));
  for (std::string line; std::getline(in, line);) {
    out.push_back(nlohmann::json::parse(line, nullptr, false));
  }
  return out;
}

// Records with this request id (every request's answer names it in X-Request-Id).
std::vector<nlohmann::json> WithId(const std::filesystem::path& file, const std::string& id) {
  std::vector<nlohmann::json> out;
  for (nlohmann::json& r : Records(file)) {
    if (r.is_object() && r.value("request_id", "") == id) out.push_back(std::move(r));
  }
  return out;
}

class AuditTrailTest : public IntegrationTest {
 protected:
  // Points [audit] at `file` and adds `extra` lines to the section (written before Start()).
  void ConfigureAudit(const std::filesystem::path& file, const std::string& extra) {
    std::string config = ReadFile(agent_->config_file());
    const std::size_t section = config.find("[audit]\n");
    ASSERT_NE(section, std::string::npos);
    const std::size_t line_end = config.find('\n', section + 8);
    config.replace(section, line_end + 1 - section,
                   "[audit]\nfile = \"" + file.string() + "\"\n" + extra);
    WriteFile(agent_->config_file(), config, 0644);
    audit_file_ = file;
  }

  // Waits until one line with `id` is in the audit file; returns it (null when none came).
  nlohmann::json LineFor(const std::string& id) {
    nlohmann::json found;
    WaitFor([&] {
      const std::vector<nlohmann::json> lines = WithId(audit_file_, id);
      if (!lines.empty()) found = lines.front();
      return lines.size() == 1;
    }, std::chrono::seconds(3));
    return found;
  }

  CtlResult Verify(const std::vector<std::string>& files) {
    std::vector<std::string> args = {"audit", "verify"};
    args.insert(args.end(), files.begin(), files.end());
    return MakeCtl().Run(args);
  }

  std::filesystem::path audit_file_;
};

TEST_F(AuditTrailTest, EveryRequestKindIsOneChainedLineWithItsFields) {
  ConfigureAudit(agent_->dir() / "audit.log", "journald = false\n");
  ASSERT_TRUE(StartAndEnroll().ok());
  UnixHttpClient client = agent_->Client();
  UnixHttpClient admin = agent_->AdminClient();
  struct Expect {
    HttpResponse response;
    std::string socket, action, decision;
    int status;
  };
  std::vector<Expect> cases;
  cases.push_back({client.Get("/healthz"), "agent", "healthz", "allow", 200});
  cases.push_back({client.Get("/v1/whoami"), "agent", "whoami", "allow", 200});
  cases.push_back({RequestToken(client, R"({"scope":"sql"})"), "agent", "token:sql", "allow", 200});
  cases.push_back({client.Post("/v1/token", R"({"scope":"clusters"})"), "agent", "token:clusters",
                   "deny", 403});
  cases.push_back({client.Post("/v1/token", "{bad"), "agent", "token", "error", 400});
  cases.push_back({client.Get("/v1/nothing?access_token=abc123&x=1"), "agent", "unknown", "error",
                   404});
  cases.push_back({admin.Get("/v1/status"), "admin", "admin.status", "allow", 200});
  cases.push_back({admin.Post("/v1/grants", R"({"service":"billing-etl","role":"etl"})"), "admin",
                   "admin.grant", "allow", 201});
  cases.push_back({admin.Request("DELETE", "/v1/grants/billing-etl/etl", ""), "admin",
                   "admin.revoke", "allow", 200});
  for (const Expect& c : cases) {
    ASSERT_EQ(c.response.status, c.status) << c.action << ": " << c.response.Describe();
    const std::string id = c.response.Header("x-request-id");
    ASSERT_EQ(id.size(), 16u) << c.action;
    if (c.status >= 400) {
      EXPECT_EQ(c.response.Json()["error"].value("request_id", ""), id) << c.response.body;
    }
    const nlohmann::json line = LineFor(id);
    ASSERT_TRUE(line.is_object()) << "no single audit line for " << c.action;
    EXPECT_EQ(line.value("socket", ""), c.socket);
    EXPECT_EQ(line.value("action", ""), c.action);
    EXPECT_EQ(line.value("decision", ""), c.decision) << line.dump();
    EXPECT_EQ(line.value("status", 0), c.status);
    EXPECT_EQ(line.value("uid", -1), 0);
    for (const char* key : {"seq", "prev", "time", "pid", "gid", "user", "exe", "unit",
                            "service", "method", "path", "workspace", "credential", "rule",
                            "latency_us", "bytes_in", "bytes_out"}) {
      EXPECT_TRUE(line.contains(key)) << key << " missing in " << line.dump();
    }
    EXPECT_EQ(line.value("bytes_out", -1), static_cast<int>(c.response.body.size()));
  }
  const nlohmann::json grant = LineFor(cases[7].response.Header("x-request-id"));
  EXPECT_EQ(grant["detail"].value("role", ""), "etl") << grant.dump();
  const nlohmann::json token = LineFor(cases[2].response.Header("x-request-id"));
  EXPECT_FALSE(token.contains("attributes")) << "root-tests has no attributes";
  EXPECT_EQ(token.value("credential", ""), kCredential);
  const nlohmann::json unknown = LineFor(cases[5].response.Header("x-request-id"));
  EXPECT_EQ(unknown.value("query", ""), "access_token=[REDACTED]&x=1");
  EXPECT_EQ(ReadFile(audit_file_).find("abc123"), std::string::npos);

  const CtlResult verified = Verify({audit_file_.string()});
  EXPECT_EQ(verified.exit_code, 0) << verified.Describe();
  EXPECT_EQ(verified.out.rfind("OK: ", 0), 0u) << verified.out;
}

TEST_F(AuditTrailTest, UnwritableFileFailsClosedAndRecovers) {
  const std::filesystem::path logs = agent_->dir() / "logs";
  ConfigureAudit(logs / "audit.log", "journald = false\nfail_closed = true\n");
  ASSERT_TRUE(StartAndEnroll().ok());
  UnixHttpClient client = agent_->Client();
  ASSERT_EQ(client.Get("/v1/whoami").status, 200);

  // The directory disappears and a plain file takes its name: the file cannot be recreated.
  std::filesystem::remove_all(logs);
  WriteFile(logs, "not a directory", 0644);
  const HttpResponse lost = client.Get("/v1/whoami");  // answered; its record cannot be written
  ASSERT_EQ(lost.status, 200);
  HttpResponse refused;
  ASSERT_TRUE(WaitFor([&] {
    refused = client.Get("/v1/whoami");
    return refused.status == 503;
  }, std::chrono::seconds(5))) << refused.Describe();
  EXPECT_EQ(refused.Json()["error"].value("code", ""), "audit_unavailable") << refused.body;
  EXPECT_EQ(refused.Json()["error"].value("request_id", ""), refused.Header("x-request-id"));
  EXPECT_EQ(RequestToken(client).status, 503);
  EXPECT_EQ(agent_->AdminClient().Get("/v1/status").status, 503);
  EXPECT_EQ(client.Get("/healthz").status, 200) << "liveness stays up";

  std::filesystem::remove(logs);
  HttpResponse back;
  ASSERT_TRUE(WaitFor([&] {
    back = client.Get("/v1/whoami");
    return back.status == 200;
  }, std::chrono::seconds(6))) << back.Describe();
  // The record that could not be written was kept and written after recovery.
  EXPECT_TRUE(LineFor(lost.Header("x-request-id")).is_object());
  EXPECT_TRUE(LineFor(back.Header("x-request-id")).is_object());
  const std::vector<nlohmann::json> lines = Records(audit_file_);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front().value("genesis", false), true);
  EXPECT_EQ(lines.front().value("reason", ""), "reopen");
  const CtlResult verified = Verify({audit_file_.string()});
  EXPECT_EQ(verified.exit_code, 0) << verified.Describe();
  EXPECT_NE(agent_->Stderr().find("audit trail recovered"), std::string::npos);
}

// Issue 15, item 3: with fsync = "batch", the first token request after the file became
// unwritable got 200 and a token whose record was written only after recovery. A token is
// released only once its record is written; otherwise the answer is 503 and says so in the
// trail (the allowed record is withdrawn, never written later). A proxied call is not made
// while the trail cannot be written.
TEST_F(AuditTrailTest, NoTokenOrProxiedCallBeforeItsRecordIsWritten) {
  const std::filesystem::path logs = agent_->dir() / "logs";
  std::string& policy = agent_->options().policy;
  const std::string actions = "\"token:sql\"]";
  policy.replace(policy.find(actions), actions.size(), "\"token:sql\", \"clusters.read\"]");
  agent_->WriteConfig();
  ConfigureAudit(logs / "audit.log", "journald = false\nfail_closed = true\n");
  ASSERT_TRUE(StartAndEnroll().ok());
  UnixHttpClient client = agent_->Client();
  ASSERT_EQ(RequestToken(client).status, 200);
  ASSERT_EQ(client.Get("/api/2.1/clusters/list").status, 200);
  ASSERT_EQ(fake_->Control("POST", "/_fake/reset").status, 200);

  std::filesystem::remove_all(logs);
  WriteFile(logs, "not a directory", 0644);
  const HttpResponse first = RequestToken(client);
  EXPECT_EQ(first.status, 503) << first.Describe();
  EXPECT_EQ(first.Json()["error"].value("code", ""), "audit_unavailable") << first.body;
  EXPECT_EQ(first.body.find("access_token"), std::string::npos);
  const HttpResponse proxied = client.Get("/api/2.1/clusters/list");
  EXPECT_EQ(proxied.status, 503) << proxied.Describe();
  EXPECT_EQ(fake_->Counters().value("api_requests", -1), 0) << "the call went out";

  std::filesystem::remove(logs);
  ASSERT_TRUE(WaitFor([&] { return RequestToken(client).status == 200; },
                      std::chrono::seconds(6)));
  // The refused token request has one record, the 503 it got; the allowed one was withdrawn.
  const nlohmann::json line = LineFor(first.Header("x-request-id"));
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line.value("status", 0), 503) << line.dump();
  EXPECT_EQ(line.value("error", ""), "audit_unavailable") << line.dump();
  EXPECT_EQ(line.value("decision", ""), "error") << line.dump();
  const CtlResult verified = Verify({audit_file_.string()});
  EXPECT_EQ(verified.exit_code, 0) << verified.Describe();
}

// Issue 15, item 3: with fsync = "always" and a sink that cannot be written, requests hung
// (the refusals' records waited for a durability that could not come). They are answered at
// once.
TEST_F(AuditTrailTest, FsyncAlwaysRefusesAtOnceWhileTheSinkIsDown) {
  const std::filesystem::path logs = agent_->dir() / "logs";
  ConfigureAudit(logs / "audit.log",
                 "journald = false\nfail_closed = true\nfsync = \"always\"\n");
  ASSERT_TRUE(StartAndEnroll().ok());
  UnixHttpClient client = agent_->Client();
  ASSERT_EQ(RequestToken(client).status, 200);
  std::filesystem::remove_all(logs);
  WriteFile(logs, "not a directory", 0644);
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const HttpResponse refused = RequestToken(client);
    EXPECT_EQ(refused.status, 503) << refused.Describe();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2)) << "request " << i;
    const HttpResponse whoami = client.Get("/v1/whoami");
    EXPECT_NE(whoami.status, 0) << whoami.Describe();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3)) << "request " << i;
  }
  std::filesystem::remove(logs);
  EXPECT_TRUE(WaitFor([&] { return RequestToken(client).status == 200; },
                      std::chrono::seconds(6)));
}

TEST_F(AuditTrailTest, WithoutFailClosedRequestsGoOn) {
  const std::filesystem::path logs = agent_->dir() / "logs";
  ConfigureAudit(logs / "audit.log", "journald = false\nfail_closed = false\n");
  ASSERT_TRUE(StartAndEnroll().ok());
  UnixHttpClient client = agent_->Client();
  std::filesystem::remove_all(logs);
  WriteFile(logs, "not a directory", 0644);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(client.Get("/v1/whoami").status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(agent_->Stderr().find("continuing without it"), std::string::npos) << agent_->Stderr();
}

TEST_F(AuditTrailTest, RenameRotationOnSignalKeepsTheChain) {
  ConfigureAudit(agent_->dir() / "audit.log", "journald = false\n");
  ASSERT_TRUE(StartAndEnroll().ok());
  UnixHttpClient client = agent_->Client();
  const std::filesystem::path first = agent_->dir() / "audit.log.2";
  const std::filesystem::path second = agent_->dir() / "audit.log.1";
  int signal_number = SIGUSR1;
  for (const std::filesystem::path& rotated : {first, second}) {
    const HttpResponse before = client.Get("/v1/whoami");
    ASSERT_TRUE(LineFor(before.Header("x-request-id")).is_object());
    std::filesystem::rename(audit_file_, rotated);
    ASSERT_EQ(::kill(agent_->process()->pid(), signal_number), 0);
    signal_number = SIGHUP;
    ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(audit_file_); },
                        std::chrono::seconds(3)));
  }
  const HttpResponse after = client.Get("/v1/whoami");
  ASSERT_TRUE(LineFor(after.Header("x-request-id")).is_object());
  const std::vector<nlohmann::json> lines = Records(audit_file_);
  EXPECT_EQ(lines.front().value("reason", ""), "rotate") << lines.front().dump();
  const CtlResult all = Verify({first.string(), second.string(), audit_file_.string()});
  EXPECT_EQ(all.exit_code, 0) << all.Describe();
  // Dropping the middle file breaks the seam.
  const CtlResult gap = Verify({first.string(), audit_file_.string()});
  EXPECT_EQ(gap.exit_code, 1) << gap.Describe();
  EXPECT_NE(gap.out.find("missing"), std::string::npos) << gap.out;
}

TEST_F(AuditTrailTest, CopytruncateStartsTheLiveFileWithAGenesisLine) {
  ConfigureAudit(agent_->dir() / "audit.log", "journald = false\n");
  ASSERT_TRUE(StartAndEnroll().ok());
  UnixHttpClient client = agent_->Client();
  const HttpResponse before = client.Get("/v1/whoami");
  ASSERT_TRUE(LineFor(before.Header("x-request-id")).is_object());
  const std::filesystem::path copy = agent_->dir() / "audit.log.1";
  std::filesystem::copy_file(audit_file_, copy);
  std::filesystem::resize_file(audit_file_, 0);
  const HttpResponse after = client.Get("/v1/whoami");
  ASSERT_TRUE(LineFor(after.Header("x-request-id")).is_object());
  const std::vector<nlohmann::json> lines = Records(audit_file_);
  ASSERT_EQ(lines.size(), 2u) << ReadFile(audit_file_);
  EXPECT_EQ(lines.front().value("reason", ""), "copytruncate");
  const CtlResult verified = Verify({copy.string(), audit_file_.string()});
  EXPECT_EQ(verified.exit_code, 0) << verified.Describe();
}

TEST_F(AuditTrailTest, FsyncAlwaysHasTheLineBeforeTheAnswer) {
  ConfigureAudit(agent_->dir() / "audit.log", "journald = false\nfsync = \"always\"\n");
  ASSERT_TRUE(StartAndEnroll().ok());
  UnixHttpClient client = agent_->Client();
  for (int i = 0; i < 5; ++i) {
    const HttpResponse r = client.Get("/v1/whoami");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(WithId(audit_file_, r.Header("x-request-id")).size(), 1u);
  }
}

TEST_F(AuditTrailTest, JournaldAsTheOnlySinkIsRequired) {
  if (std::filesystem::exists("/run/systemd/journal/socket")) {
    GTEST_SKIP() << "a journal is listening here";
  }
  std::string config = ReadFile(agent_->config_file());
  const std::size_t section = config.find("[audit]\n");
  config.replace(section, config.find('\n', section + 8) + 1 - section,
                 "[audit]\nfile = \"\"\njournald = true\n");
  WriteFile(agent_->config_file(), config, 0644);
  ASSERT_TRUE(StartAgent().ok());
  UnixHttpClient client = agent_->Client();
  HttpResponse r;
  EXPECT_TRUE(WaitFor([&] {
    r = client.Get("/v1/whoami");
    return r.status == 503;
  }, std::chrono::seconds(3))) << r.Describe();
}

TEST_F(AuditTrailTest, TailReadsAndFollowsThroughTheAdminSocket) {
  ConfigureAudit(agent_->dir() / "audit.log", "journald = false\n");
  ASSERT_TRUE(StartAndEnroll().ok());
  UnixHttpClient client = agent_->Client();
  ASSERT_EQ(client.Post("/v1/token", R"({"scope":"clusters"})").status, 403);
  const HttpResponse allowed = RequestToken(client);
  ASSERT_EQ(allowed.status, 200);
  ASSERT_TRUE(LineFor(allowed.Header("x-request-id")).is_object());

  const CtlResult denied = MakeCtl().Run({"audit", "tail", "--decision", "deny", "--json"});
  ASSERT_EQ(denied.exit_code, 0) << denied.Describe();
  std::istringstream lines(denied.out);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    EXPECT_EQ(nlohmann::json::parse(line).value("decision", ""), "deny") << line;
  }
  EXPECT_EQ(count, 1) << denied.out;
  const CtlResult table = MakeCtl().Run({"audit", "tail", "-n", "3"});
  ASSERT_EQ(table.exit_code, 0) << table.Describe();
  EXPECT_NE(table.out.find("DECISION"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("token:all-apis"), std::string::npos) << table.out;

  // Long-poll: a call waiting after the last seq returns the next request's record.
  const auto start = agent_->AdminClient().Get("/v1/audit?n=1").Json();
  const std::uint64_t last = start.value("last_seq", std::uint64_t{0});
  HttpResponse polled;
  std::thread poller([&] {
    UnixHttpClient admin = agent_->AdminClient();
    polled = admin.Get("/v1/audit?after_seq=" + std::to_string(last) + "&wait=10");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const HttpResponse next = client.Get("/v1/whoami");
  poller.join();
  ASSERT_EQ(polled.status, 200) << polled.Describe();
  bool seen = false;
  const nlohmann::json answer = polled.Json();
  for (const auto& record : answer["records"]) {
    seen = seen || record.value("request_id", "") == next.Header("x-request-id");
  }
  EXPECT_TRUE(seen) << next.Header("x-request-id") << " not in " << polled.body;
}

}  // namespace
}  // namespace dbproxy::testing
