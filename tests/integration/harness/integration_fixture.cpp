#include "tests/integration/harness/integration_fixture.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace dbproxy::testing {

std::string DefaultPolicy() {
  return std::string("[[service]]\n") +
         "name = \"" + kService + "\"\n" +
         "match = { unit = \"" + kUnit + "\" }\n" +
         "attributes = { env = \"production\" }\n" +
         "workspace = \"" + kWorkspace + "\"\n" +
         "roles = [\"etl\"]\n\n" +
         "[[service]]\n"
         "name = \"root-tests\"\n"
         "match = { uid = 0 }\n"
         "workspace = \"" + kWorkspace + "\"\n" +
         "roles = [\"etl\"]\n\n" +
         "[[role]]\n"
         "name = \"etl\"\n"
         "credential = \"" + kCredential + "\"\n" +
         "actions = [\"token:all-apis\", \"token:sql\"]\n";
}

HttpResponse RequestAs(const Identity& who, const std::filesystem::path& socket,
                       const std::string& method, const std::string& target,
                       const std::string& body, const HttpHeaders& headers) {
  const RunAsResult run = RunAs(who, [&] {
    UnixHttpClient client(socket.string());
    HttpHeaders sent = headers;
    if (!body.empty()) sent.emplace_back("Content-Type", "application/json");
    const HttpResponse r = client.Request(method, target, body, sent);
    return nlohmann::json{{"status", r.status}, {"headers", r.headers}, {"body", r.body},
                          {"error", r.error}, {"sys_errno", r.sys_errno}}
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  });
  HttpResponse response;
  if (!run.ok) {
    response.error = "RunAs: " + run.error;
    return response;
  }
  const auto json = nlohmann::json::parse(run.output, nullptr, false);
  if (json.is_discarded()) {
    response.error = "RunAs: unreadable result: " + run.output;
    return response;
  }
  response.status = json["status"].get<int>();
  response.headers = json["headers"].get<std::vector<std::pair<std::string, std::string>>>();
  response.body = json["body"].get<std::string>();
  response.error = json["error"].get<std::string>();
  response.sys_errno = json["sys_errno"].get<int>();
  return response;
}

nlohmann::json WaitForAuditRecord(const std::filesystem::path& audit_file,
                                  const std::string& request_id,
                                  std::chrono::milliseconds timeout) {
  nlohmann::json found(nlohmann::json::value_t::discarded);
  WaitFor(
      [&] {
        std::istringstream lines(ReadFile(audit_file));
        for (std::string line; std::getline(lines, line);) {
          nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
          if (record.is_object() && record.value("request_id", "") == request_id) {
            found = std::move(record);
            return true;
          }
        }
        return false;
      },
      timeout);
  return found;
}

void IntegrationTest::SetUp() {
  dir_ = std::make_unique<TempDir>("dbproxy-it");
  FakeWorkspaceOptions fake_options;
  fake_options.clients = {{kClientId, kSecret, {}}};
  fake_ = std::make_unique<FakeWorkspace>(dir_->path() / "fake", fake_options);
  AgentOptions options;
  options.policy = DefaultPolicy();
  options.ca_file = fake_->ca_file();
  agent_ = std::make_unique<Agent>(dir_->path() / "agent", options);
}

void IntegrationTest::TearDown() {
  if (HasFailure() && agent_) {
    std::cerr << "---- dbproxyd stderr (tail) ----\n";
    const std::string log = agent_->Stderr();
    std::cerr << (log.size() > 4000 ? log.substr(log.size() - 4000) : log) << "\n";
  }
  if (agent_) {
    // Every test bounds the agent's memory: the highest resident size any of its runs reached.
    agent_->Stop();
    const long peak = agent_->peak_rss_kib();
    if (peak > 0) {
      std::printf("dbproxyd peak RSS %ld KiB (ceiling %ld KiB)\n", peak, kAgentRssCeilingKib);
      EXPECT_LT(peak, kAgentRssCeilingKib) << "dbproxyd's peak RSS (VmHWM) in this test";
    }
  }
  agent_.reset();
  fake_.reset();
  cgroup_.reset();
  dir_.reset();
}

HarnessStatus IntegrationTest::Enroll() {
  const HttpResponse r = agent_->Enroll(kWorkspace, kCredential, fake_->url(), kClientId, kSecret);
  if (r.ok() && r.status == 201) return HarnessStatus::Ok();
  return HarnessStatus::Fail("enroll via admin API: " + r.Describe());
}

HarnessStatus IntegrationTest::StartAndEnroll() {
  HarnessStatus started = StartAgent();
  if (!started.ok()) return started;
  return Enroll();
}

HttpResponse IntegrationTest::RequestToken(UnixHttpClient& client, const std::string& body) {
  HttpResponse r = client.Post("/v1/token", body);
  if (r.ok() && r.status == 200) {
    const auto json = r.Json();
    if (json.is_object() && json.contains("access_token") && json["access_token"].is_string()) {
      RecordToken(json["access_token"].get<std::string>());
    }
  }
  return r;
}

Ctl IntegrationTest::MakeCtl() const {
  return Ctl(dir_->path(), agent_->socket(), agent_->admin_socket());
}

std::string IntegrationTest::MakeServiceIdentity(Identity* who) {
  std::string why;
  if (!cgroup_) cgroup_ = TestCgroup::Create(kUnit, &why);
  if (!cgroup_) return why;
  *who = UserIdentity(kServiceUid, kServiceUid);
  who->cgroup_procs = cgroup_->procs_files();
  return "";
}

std::vector<std::string> IntegrationTest::IssuedTokens() const {
  std::lock_guard<std::mutex> lock(tokens_mutex_);
  return issued_tokens_;
}

void IntegrationTest::RecordToken(const std::string& token) {
  std::lock_guard<std::mutex> lock(tokens_mutex_);
  if (std::find(issued_tokens_.begin(), issued_tokens_.end(), token) == issued_tokens_.end()) {
    issued_tokens_.push_back(token);
  }
}

}  // namespace dbproxy::testing
