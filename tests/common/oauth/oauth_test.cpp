// Discovery documents and token endpoint answers (common/oauth.hpp).
#include "common/oauth/oauth.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dbproxy {
namespace {

constexpr char kHost[] = "https://adb-1.example.net";
constexpr char kJwt[] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzcCJ9.c2ln";

TEST(OauthTest, ParseDiscoveryAcceptsSameOrigin) {
  Result<OidcEndpoints> endpoints = ParseDiscovery(
      R"({"issuer":"https://adb-1.example.net/oidc",
          "token_endpoint":"https://ADB-1.example.net:443/oidc/v1/token",
          "authorization_endpoint":"https://adb-1.example.net/oidc/v1/authorize"})",
      "https://adb-1.example.net/");
  ASSERT_TRUE(endpoints.has_value()) << endpoints.error().message;
  EXPECT_EQ(endpoints->issuer, "https://adb-1.example.net/oidc");
  EXPECT_EQ(endpoints->token_endpoint, "https://adb-1.example.net/oidc/v1/token");
}

TEST(OauthTest, ParseDiscoveryIssuerIsOptional) {
  Result<OidcEndpoints> endpoints =
      ParseDiscovery(R"({"token_endpoint":"https://h:8443/oidc/v1/token"})", "https://h:8443");
  ASSERT_TRUE(endpoints.has_value()) << endpoints.error().message;
  EXPECT_EQ(endpoints->issuer, "");
  EXPECT_EQ(endpoints->token_endpoint, "https://h:8443/oidc/v1/token");
}

TEST(OauthTest, ParseDiscoveryRefusesForeignOrBadEndpoints) {
  const std::vector<std::string> bodies = {
      R"({"token_endpoint":"https://evil.example.com/oidc/v1/token"})",
      R"({"token_endpoint":"https://adb-1.example.net.evil.com/oidc/v1/token"})",
      R"({"token_endpoint":"https://adb-1.example.net@evil.com/oidc/v1/token"})",
      R"({"token_endpoint":"https://adb-1.example.net:8443/oidc/v1/token"})",
      R"({"token_endpoint":"http://adb-1.example.net/oidc/v1/token"})",
      R"({"token_endpoint":"/oidc/v1/token"})",
      R"({"token_endpoint":"https://adb-1.example.net"})",
      R"({"token_endpoint":"https://adb-1.example.net/oidc/v1/token?x=1"})",
      R"({"token_endpoint":"https://adb-1.example.net/oidc/v1/token#f"})",
      R"({"token_endpoint":"https://adb-1.example.net/a b"})",
      R"({"token_endpoint":42})",
      R"({"issuer":"x"})",
      R"(["token_endpoint"])",
      "not json",
      "",
  };
  for (const std::string& body : bodies) {
    Result<OidcEndpoints> endpoints = ParseDiscovery(body, kHost);
    ASSERT_FALSE(endpoints.has_value()) << body;
    EXPECT_EQ(endpoints.error().code, Errc::kUpstreamError) << body;
  }
}

TEST(OauthTest, ParseDiscoveryRefusesBadHost) {
  Result<OidcEndpoints> endpoints =
      ParseDiscovery(R"({"token_endpoint":"https://h/oidc/v1/token"})", "https://h/x");
  ASSERT_FALSE(endpoints.has_value());
  EXPECT_EQ(endpoints.error().code, Errc::kInvalidRequest);
}

Result<TokenGrant> Parse(long status, std::string body, std::string_view scope = "all-apis",
                         int retry_after = 0) {
  Result<TokenGrant> grant = ParseTokenResponse(status, body, scope, retry_after);
  EXPECT_TRUE(body.empty());
  return grant;
}

TEST(OauthTest, TokenResponseSuccess) {
  Result<TokenGrant> grant = Parse(200, std::string(R"({"access_token":")") + kJwt +
                                            R"(","token_type":"Bearer","expires_in":3600,)"
                                            R"("scope":"all-apis sql","extra":{"a":[1,2]}})");
  ASSERT_TRUE(grant.has_value()) << grant.error().message;
  EXPECT_EQ(grant->access_token.view(), kJwt);
  EXPECT_EQ(grant->token_type, "Bearer");
  EXPECT_EQ(grant->expires_in, 3600);
  EXPECT_EQ(grant->scope, "all-apis sql");
}

TEST(OauthTest, TokenResponseVariantsAccepted) {
  struct Case {
    std::string body;
    std::int64_t expires_in;
    std::string scope;
  };
  const std::vector<Case> cases = {
      {R"({"access_token":"t","token_type":"bearer","expires_in":1})", 1, "all-apis"},
      {R"({"access_token":"t","token_type":"BEARER","expires_in":"3599"})", 3599, "all-apis"},
      {R"({"token_type":"Bearer","expires_in":60,"access_token":"t","scope":"sql"})", 60, "sql"},
      {R"({"access_token":"t","token_type":"Bearer","expires_in":60,"scope":""})", 60, ""},
  };
  for (const Case& c : cases) {
    Result<TokenGrant> grant = Parse(200, c.body);
    ASSERT_TRUE(grant.has_value()) << c.body << ": " << grant.error().message;
    EXPECT_EQ(grant->expires_in, c.expires_in) << c.body;
    EXPECT_EQ(grant->scope, c.scope) << c.body;
  }
}

TEST(OauthTest, TokenResponseMissingOrBadFields) {
  const std::vector<std::string> bodies = {
      R"({"token_type":"Bearer","expires_in":3600})",
      R"({"access_token":"","token_type":"Bearer","expires_in":3600})",
      R"({"access_token":7,"token_type":"Bearer","expires_in":3600})",
      R"({"access_token":"t","expires_in":3600})",
      R"({"access_token":"t","token_type":"MAC","expires_in":3600})",
      R"({"access_token":"t","token_type":"Bearer"})",
      R"({"access_token":"t","token_type":"Bearer","expires_in":0})",
      R"({"access_token":"t","token_type":"Bearer","expires_in":-1})",
      R"({"access_token":"t","token_type":"Bearer","expires_in":36.5})",
      R"({"access_token":"t","token_type":"Bearer","expires_in":"36s"})",
      R"({"access_token":"t","token_type":"Bearer","expires_in":""})",
      R"({"access_token":"t","token_type":"Bearer","expires_in":99999999999})",
      R"({"access_token":"t","token_type":"Bearer","expires_in":18446744073709551615})",
      R"({"access_token":"t","token_type":"Bearer","expires_in":true})",
      R"({"access_token":"t","token_type":"Bearer","expires_in":60,"scope":["sql"]})",
      R"({"access_token":"t","access_token":"u","token_type":"Bearer","expires_in":60})",
      R"({"access_token":"t","token_type":"Bearer","expires_in":60} x)",
      R"(["access_token"])",
      "\"access_token\"",
      "<html>502</html>",
      "",
  };
  for (const std::string& body : bodies) {
    Result<TokenGrant> grant = Parse(200, body);
    ASSERT_FALSE(grant.has_value()) << body;
    EXPECT_EQ(grant.error().code, Errc::kUpstreamError) << body;
    EXPECT_EQ(grant.error().message.find("\"t\""), std::string::npos);
  }
}

struct ErrorCase {
  long status;
  std::string body;
  Errc code;
  std::string message;
};

TEST(OauthTest, TokenResponseErrors) {
  const std::vector<ErrorCase> cases = {
      {401, R"({"error":"invalid_client","error_description":"Client authentication failed"})",
       Errc::kInvalidCredential,
       "workspace rejected the credential: invalid_client: Client authentication failed"},
      {400, R"({"error":"unauthorized_client"})", Errc::kInvalidCredential,
       "workspace rejected the credential: unauthorized_client"},
      {400, R"({"error":"invalid_grant","error_description":"No matching federation policy"})",
       Errc::kInvalidCredential,
       "workspace rejected the credential: invalid_grant: No matching federation policy"},
      {400, R"({"error":"invalid_scope","error_description":"bad scope"})", Errc::kInvalidRequest,
       "workspace rejected scope 'all-apis': bad scope"},
      {400, R"({"error":"unsupported_grant_type","error_description":"no"})", Errc::kUpstreamError,
       "workspace token endpoint answered HTTP 400: unsupported_grant_type: no"},
      {200, R"({"error":"invalid_client"})", Errc::kInvalidCredential,
       "workspace rejected the credential: invalid_client"},
      {403, R"({"message":"nope"})", Errc::kUpstreamError,
       "workspace token endpoint answered HTTP 403"},
      {404, "Not Found", Errc::kUpstreamError,
       "workspace token endpoint answered HTTP 404 with a body that is not a JSON object"},
      {302, "", Errc::kUpstreamError,
       "workspace token endpoint answered HTTP 302 with a body that is not a JSON object"},
      {401,
       R"({"error":"invalid_client","error_description":"bad dapi0123456789abcdef0123456789abcdef\nFAKE LOG"})",
       Errc::kInvalidCredential,
       "workspace rejected the credential: invalid_client: bad [REDACTED] FAKE LOG"},
  };
  for (const ErrorCase& c : cases) {
    Result<TokenGrant> grant = Parse(c.status, c.body);
    ASSERT_FALSE(grant.has_value()) << c.body;
    EXPECT_EQ(grant.error().code, c.code) << c.body;
    EXPECT_EQ(grant.error().message, c.message) << c.body;
    EXPECT_EQ(grant.error().retry_after_seconds, 0);
    EXPECT_NE(grant.error().log_detail.find(std::to_string(c.status)), std::string::npos);
  }
}

TEST(OauthTest, TokenResponseDescriptionIsCutAtUtf8Boundary) {
  std::string description(199, 'x');
  description += "\xc3\xa9tail";  // "é" straddles byte 200
  Result<TokenGrant> grant =
      Parse(400, R"({"error":"invalid_client","error_description":")" + description + "\"}");
  ASSERT_FALSE(grant.has_value());
  const std::string prefix = "workspace rejected the credential: invalid_client: ";
  EXPECT_EQ(grant.error().message, prefix + std::string(199, 'x'));
}

TEST(OauthTest, TokenResponseUnavailable) {
  for (const long status : {429L, 500L, 502L, 503L, 599L}) {
    Result<TokenGrant> grant = Parse(status, "<html>busy</html>", "all-apis", 30);
    ASSERT_FALSE(grant.has_value()) << status;
    EXPECT_EQ(grant.error().code, Errc::kUpstreamUnavailable) << status;
    EXPECT_EQ(grant.error().retry_after_seconds, 30) << status;
    EXPECT_EQ(grant.error().message,
              "workspace token endpoint is unavailable (HTTP " + std::to_string(status) + ")");
  }
  Result<TokenGrant> grant = Parse(
      503, R"({"error":"temporarily_unavailable","error_description":"try later"})", "sql", 7);
  ASSERT_FALSE(grant.has_value());
  EXPECT_EQ(grant.error().message, "workspace token endpoint is unavailable (HTTP 503): try later");
  EXPECT_EQ(grant.error().retry_after_seconds, 7);
  // Without a Retry-After of the workspace's, the caller still gets one: every 503 has it.
  grant = Parse(503, "", "all-apis", 0);
  ASSERT_FALSE(grant.has_value());
  EXPECT_EQ(grant.error().retry_after_seconds, kDefaultRetryAfterSeconds);
  EXPECT_GE(kDefaultRetryAfterSeconds, 1);
}

TEST(OauthTest, TokenResponseBodyIsWipedEvenWhenOversized) {
  std::string body(70 * 1024, ' ');
  Result<TokenGrant> grant = ParseTokenResponse(200, body, "all-apis", 0);
  EXPECT_FALSE(grant.has_value());
  EXPECT_TRUE(body.empty());
}

}  // namespace
}  // namespace dbproxy
