// The one mapping of Errc to HTTP, and the error bodies: the agent's own shape and, in proxy
// mode, the Databricks shape that unmodified SDKs read.
#include "common/core/error_mapping.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace dbproxy {
namespace {

TEST(ErrorMappingTest, UnknownWorkspaceIsA403ThatIsNot404) {
  const HttpError mapped = ToHttpError(Errc::kUnknownWorkspace);
  EXPECT_EQ(mapped.status, 403);
  EXPECT_EQ(mapped.code, "unknown_workspace");
}

TEST(ErrorMappingTest, UnauthenticatedIsThe401) {
  const HttpError mapped = ToHttpError(Errc::kUnauthenticated);
  EXPECT_EQ(mapped.status, 401);
  EXPECT_EQ(mapped.code, "identity_required");
  EXPECT_EQ(DatabricksErrorCode(Errc::kUnauthenticated), "PERMISSION_DENIED");
}

TEST(ErrorMappingTest, ARefusedIdentityTokenIs401AndAnUnreachableIdpIs503) {
  EXPECT_EQ(ToHttpError(Errc::kInvalidIdentity).status, 401);
  EXPECT_EQ(ToHttpError(Errc::kInvalidIdentity).code, "invalid_identity");
  EXPECT_EQ(ToHttpError(Errc::kIdentityUnavailable).status, 503);
  EXPECT_EQ(ToHttpError(Errc::kIdentityUnavailable).code, "identity_unavailable");
  EXPECT_EQ(DatabricksErrorCode(Errc::kIdentityUnavailable), "TEMPORARILY_UNAVAILABLE");
}

TEST(ErrorMappingTest, DatabricksCodesAreAlwaysStrings) {
  EXPECT_EQ(DatabricksErrorCode(Errc::kPolicyDenied), "PERMISSION_DENIED");
  EXPECT_EQ(DatabricksErrorCode(Errc::kInvalidRequest), "INVALID_PARAMETER_VALUE");
  EXPECT_EQ(DatabricksErrorCode(Errc::kRateLimited), "REQUEST_LIMIT_EXCEEDED");
  EXPECT_EQ(DatabricksErrorCode(Errc::kMaintenance), "TEMPORARILY_UNAVAILABLE");
  EXPECT_EQ(DatabricksErrorCode(Errc::kInternal), "INTERNAL_ERROR");
}

TEST(ErrorMappingTest, ProxyErrorsCarryTheShapeSdksRead) {
  Error error = MakeError(Errc::kPolicyDenied, "jobs.read is not allowed");
  error.rule = "default-deny";
  // agent.sock: the agent's object, plus error_code and message beside it.
  const nlohmann::json both = nlohmann::json::parse(ProxyErrorBody(error, "r1", false));
  EXPECT_EQ(both["error"]["code"], "policy_denied");
  EXPECT_EQ(both["error"]["rule"], "default-deny");
  EXPECT_EQ(both["error_code"], "PERMISSION_DENIED");
  EXPECT_EQ(both["message"], "dbproxy: jobs.read is not allowed");
  // The loopback listener: no top-level "error" (SDKs read it as the API 1.2 message string).
  const nlohmann::json sdk = nlohmann::json::parse(ProxyErrorBody(error, "r1", true));
  EXPECT_FALSE(sdk.contains("error")) << sdk.dump();
  EXPECT_EQ(sdk["error_code"], "PERMISSION_DENIED");
  EXPECT_EQ(sdk["message"], "dbproxy: jobs.read is not allowed");
  EXPECT_EQ(sdk["dbproxy"]["code"], "policy_denied");
  EXPECT_EQ(sdk["dbproxy"]["request_id"], "r1");
}

}  // namespace
}  // namespace dbproxy
