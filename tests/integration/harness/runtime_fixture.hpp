// A fixture for runtime grants and the maintenance switch: a policy in which the test process
// (root) is service "root-tests" with no role of its own, and uid kStrangerUid is service
// "batch" with role "etl".
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/harness/integration_fixture.hpp"

namespace dbproxy::testing {

inline constexpr char kRootService[] = "root-tests";
inline constexpr char kBatchService[] = "batch";
inline constexpr char kRole[] = "etl";

class RuntimeFixture : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    agent_->options().policy = std::string(
        "[[service]]\n"
        "name = \"root-tests\"\n"
        "match = { uid = 0 }\n"
        "workspace = \"") + kWorkspace + "\"\n\n" +
        "[[service]]\n"
        "name = \"batch\"\n"
        "match = { uid = " + std::to_string(kStrangerUid) + " }\n" +
        "workspace = \"" + kWorkspace + "\"\n" +
        "roles = [\"etl\"]\n\n" +
        "[[role]]\n"
        "name = \"etl\"\n"
        "credential = \"" + kCredential + "\"\n" +
        "actions = [\"token:all-apis\", \"token:sql\"]\n";
    agent_->WriteConfig();
  }

  // POST /v1/token as root ("root-tests") on a fresh connection.
  HttpResponse RootToken(const std::string& body = R"({"scope":"all-apis"})") {
    UnixHttpClient client = agent_->Client();
    return RequestToken(client, body);
  }
  // POST /v1/token as uid kStrangerUid ("batch").
  HttpResponse BatchToken(const std::string& body = R"({"scope":"all-apis"})") {
    return RequestAs(UserIdentity(kStrangerUid, kStrangerUid), agent_->socket(), "POST",
                     "/v1/token", body);
  }
  CtlResult RunCtl(const std::vector<std::string>& args) { return MakeCtl().Run(args); }
};

// The "code" of an error answer, or "" when the body is not one.
inline std::string ErrorCode(const HttpResponse& response) {
  const nlohmann::json body = response.Json();
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return "";
  return body["error"].value("code", "");
}

inline std::string ErrorMessage(const HttpResponse& response) {
  const nlohmann::json body = response.Json();
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return "";
  return body["error"].value("message", "");
}

}  // namespace dbproxy::testing
