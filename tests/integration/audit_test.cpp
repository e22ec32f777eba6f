// The audit trail after a full scenario: one chained JSON line per client request, with the
// caller's identity, the decision and the service's attributes, a chain that verifies, and never
// a secret or an issued token (nor in the daemon's log).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/harness/integration_fixture.hpp"

namespace dbproxy::testing {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

class AuditTest : public IntegrationTest {};

TEST_F(AuditTest, OneLinePerRequestAndNoSecretsAnywhere) {
  const HarnessStatus enrolled = StartAndEnroll();
  ASSERT_TRUE(enrolled.ok()) << enrolled.error;
  const auto audit_lines = [&] { return Lines(ReadFile(agent_->audit_file())).size(); };
  // The writer thread writes the enroll's line shortly after the answer: count from there.
  EXPECT_TRUE(WaitFor([&] {
    return ReadFile(agent_->audit_file()).find("\"admin.enroll\"") != std::string::npos;
  }, std::chrono::seconds(3)));
  const std::size_t before = audit_lines();

  int requests = 0;
  UnixHttpClient client = agent_->Client();
  for (const char* body : {"{}", R"({"scope":"sql"})", R"({"scope":"sql"})"}) {
    EXPECT_EQ(RequestToken(client, body).status, 200);
    ++requests;
  }
  EXPECT_EQ(client.Get("/v1/whoami").status, 200);
  ++requests;
  const HttpResponse denied = client.Post("/v1/token", R"({"scope":"clusters"})");
  EXPECT_EQ(denied.status, 403) << denied.Describe();
  ++requests;
  const Identity stranger = UserIdentity(kStrangerUid, kStrangerUid);
  EXPECT_EQ(RequestAs(stranger, agent_->socket(), "POST", "/v1/token", "{}").status, 403);
  ++requests;
  Identity service;
  if (MakeServiceIdentity(&service).empty()) {
    const HttpResponse r = RequestAs(service, agent_->socket(), "POST", "/v1/token", "{}");
    EXPECT_EQ(r.status, 200) << r.Describe();
    if (r.status == 200) RecordToken(r.Json().value("access_token", ""));
    ++requests;
  }

  const std::size_t expected = before + static_cast<std::size_t>(requests);
  EXPECT_TRUE(WaitFor([&] { return audit_lines() >= expected; }, std::chrono::seconds(3)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::vector<std::string> lines = Lines(ReadFile(agent_->audit_file()));
  ASSERT_EQ(lines.size(), expected) << ReadFile(agent_->audit_file());

  bool saw_stranger = false;
  for (std::size_t i = before; i < lines.size(); ++i) {
    const auto record = nlohmann::json::parse(lines[i], nullptr, false);
    ASSERT_TRUE(record.is_object()) << "not JSON: " << lines[i];
    for (const char* key : {"time", "uid", "pid", "unit", "service", "action", "decision"}) {
      EXPECT_TRUE(record.contains(key)) << "no \"" << key << "\" in " << lines[i];
    }
    EXPECT_TRUE(record.contains("seq") && record.contains("prev")) << lines[i];
    if (record.value("service", "") == kService) {
      // The attributes that rules over service.* decided on travel with the record.
      EXPECT_EQ(record["attributes"].value("service.env", ""), "production") << lines[i];
    }
    if (record.value("uid", -1) == static_cast<int>(kStrangerUid)) {
      saw_stranger = true;
      EXPECT_EQ(record["decision"].dump().find("allow"), std::string::npos) << lines[i];
    }
  }
  EXPECT_TRUE(saw_stranger) << "the unidentified caller's request was not audited";

  // The hash chain of the whole file verifies.
  const CtlResult verified = MakeCtl().Run({"audit", "verify", agent_->audit_file().string()});
  EXPECT_EQ(verified.exit_code, 0) << verified.Describe();

  // Grep after the whole scenario: the audit file and the daemon's log.
  const std::string audit = ReadFile(agent_->audit_file());
  const std::string log = agent_->Stderr();
  const std::vector<std::string> tokens = IssuedTokens();
  ASSERT_GE(tokens.size(), 2u);
  for (const std::string& token : tokens) {
    ASSERT_FALSE(token.empty());
    EXPECT_EQ(audit.find(token), std::string::npos) << "issued token in the audit file";
    EXPECT_EQ(log.find(token), std::string::npos) << "issued token in dbproxyd's log";
  }
  EXPECT_EQ(audit.find(kSecret), std::string::npos) << "client secret in the audit file";
  EXPECT_EQ(log.find(kSecret), std::string::npos) << "client secret in dbproxyd's log";
}

// Where `needle` occurs in the memory of `pid` that a core dump would hold: every mapping
// readable through /proc/<pid>/mem except those marked MADV_DONTDUMP ("dd" in smaps, as
// libsodium's guarded allocations are). Returns "<range> <name>" per hit.
std::vector<std::string> DumpableCopies(pid_t pid, const std::string& needle) {
  std::vector<std::string> hits;
  std::ifstream smaps("/proc/" + std::to_string(pid) + "/smaps");
  const int mem = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (mem < 0) return {"cannot open /proc/<pid>/mem"};
  struct Range {
    unsigned long start = 0, end = 0;
    std::string line;
    bool dontdump = false;
  };
  std::vector<Range> ranges;
  for (std::string line; std::getline(smaps, line);) {
    const std::size_t dash = line.find('-');
    if (dash != std::string::npos && dash < 17 && line.find(' ') > dash &&
        std::isxdigit(static_cast<unsigned char>(line[0]))) {
      Range range;
      range.start = std::stoul(line.substr(0, dash), nullptr, 16);
      range.end = std::stoul(line.substr(dash + 1), nullptr, 16);
      range.line = line;
      ranges.push_back(range);
    } else if (line.rfind("VmFlags:", 0) == 0 && !ranges.empty()) {
      ranges.back().dontdump = line.find(" dd") != std::string::npos;
    }
  }
  std::string buffer;
  for (const Range& range : ranges) {
    if (range.dontdump || range.line.find(" r") == std::string::npos) continue;
    buffer.resize(range.end - range.start);
    const ssize_t n = ::pread(mem, buffer.data(), buffer.size(), static_cast<off_t>(range.start));
    if (n <= 0) continue;
    const std::string_view view(buffer.data(), static_cast<std::size_t>(n));
    for (std::size_t at = view.find(needle); at != std::string_view::npos;
         at = view.find(needle, at + 1)) {
      hits.push_back(range.line);
    }
  }
  ::close(mem);
  return hits;
}

// Issue 15, item 4: a root core dump of dbproxyd held 9 copies of the client secret and 9 of
// issued tokens (libcurl's buffers, JSON parsing, freed heap blocks). After enrolment, grants,
// token answers and proxied calls, neither is anywhere a core dump would hold.
TEST_F(AuditTest, NoSecretOrTokenInDumpableMemory) {
  std::string& policy = agent_->options().policy;
  const std::string actions = "\"token:sql\"]";
  policy.replace(policy.find(actions), actions.size(), "\"token:sql\", \"clusters.read\"]");
  agent_->WriteConfig();
  const HarnessStatus enrolled = StartAndEnroll();
  ASSERT_TRUE(enrolled.ok()) << enrolled.error;
  UnixHttpClient client = agent_->Client();
  for (const char* body : {"{}", R"({"scope":"sql"})", R"({"scope":"sql","min_ttl_seconds":5})"}) {
    ASSERT_EQ(RequestToken(client, body).status, 200);
  }
  for (int i = 0; i < 3; ++i) {
    const HttpResponse proxied = client.Get("/api/2.1/clusters/list");
    EXPECT_EQ(proxied.status, 200) << proxied.Describe();
  }
  const std::vector<std::string> tokens = IssuedTokens();
  ASSERT_GE(tokens.size(), 2u);
  const pid_t pid = agent_->process()->pid();
  for (const std::string& where : DumpableCopies(pid, kSecret)) {
    ADD_FAILURE() << "client secret in dumpable memory: " << where;
  }
  for (const std::string& token : tokens) {
    for (const std::string& where : DumpableCopies(pid, token)) {
      ADD_FAILURE() << "issued token in dumpable memory: " << where;
    }
  }
}

}  // namespace
}  // namespace dbproxy::testing
