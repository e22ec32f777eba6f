// The fixture the product tests share: a fake workspace with one service principal, a
// dbproxyd configured against it (not started), and the identities the tests play.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tests/integration/harness/harness.hpp"

namespace dbproxy::testing {

// Distinctive values, so a leak into a file or log is found by a plain substring search.
inline constexpr char kClientId[] = "itest-client-7c1e59";
inline constexpr char kSecret[] = "dose-itest-secret-9f8e7d6c5b4a3921";
inline constexpr char kWorkspace[] = "prod";
inline constexpr char kCredential[] = "etl-sp";
inline constexpr char kService[] = "billing-etl";
inline constexpr char kUnit[] = "billing-etl.service";
inline constexpr uid_t kServiceUid = 4242;   // runs inside the billing-etl.service cgroup
inline constexpr uid_t kStrangerUid = 4343;  // matches no service
inline constexpr char kMePath[] = "/api/2.0/preview/scim/v2/Me";

// The peak RSS (VmHWM) under which every test holds dbproxyd; IntegrationTest::TearDown checks
// it and prints the figure. Far below the unit's MemoryHigh=768M in a plain build. A sanitizer
// build keeps shadow memory and a freed-memory quarantine, so it is held to MemoryHigh itself.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr long kAgentRssCeilingKib = 768L * 1024;
#else
inline constexpr long kAgentRssCeilingKib = 128L * 1024;
#endif

// billing-etl (matched by unit) and root-tests (matched by uid 0, the test process itself),
// both allowed token:all-apis and token:sql with the etl-sp credential in workspace "prod".
std::string DefaultPolicy();

// One HTTP request on `socket` made by a child running as `who` (see RunAs). A RunAs failure
// comes back as a transport error.
HttpResponse RequestAs(const Identity& who, const std::filesystem::path& socket,
                       const std::string& method, const std::string& target,
                       const std::string& body = "", const HttpHeaders& headers = {});

// The audit record of the request `request_id` (its answer's X-Request-Id), waiting up to
// `timeout` for it to be written; a discarded value when none appeared.
nlohmann::json WaitForAuditRecord(const std::filesystem::path& audit_file,
                                  const std::string& request_id,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(5));

class IntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts dbproxyd; on failure the status carries its stderr.
  HarnessStatus StartAgent() { return agent_->Start(); }
  // Enrolls kCredential through the admin API (dbproxyctl enroll is tested on its own).
  HarnessStatus Enroll();
  HarnessStatus StartAndEnroll();
  // POST /v1/token with `body`; records any access_token it returns in issued_tokens_.
  HttpResponse RequestToken(UnixHttpClient& client, const std::string& body = "{}");
  Ctl MakeCtl() const;
  // The billing-etl caller: kServiceUid inside the unit's cgroup. Returns "" or, when cgroups
  // cannot be created here, the reason to pass to GTEST_SKIP().
  std::string MakeServiceIdentity(Identity* who);
  // Every access_token seen so far, for leak checks.
  std::vector<std::string> IssuedTokens() const;
  void RecordToken(const std::string& token);

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<FakeWorkspace> fake_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<TestCgroup> cgroup_;

 private:
  mutable std::mutex tokens_mutex_;
  std::vector<std::string> issued_tokens_;
};

}  // namespace dbproxy::testing
