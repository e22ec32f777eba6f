#include "common/calls/proxy_route.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dbproxy {
namespace {

TEST(ProxyRouteTest, IsProxyTarget) {
  for (const char* target :
       {"/api/2.1/clusters/list", "/api/2.1/clusters/list?x=1", "/api", "/api/",
        "/w/prod/api/2.1/jobs/list", "/w/prod/api/2.1/jobs/list?job_id=1",
        "/serving-endpoints/m/invocations", "/w/prod/serving-endpoints/m/invocations",
        "/w/bad%2Fname/api/2.1/jobs/list", "/w//api/2.1/jobs/list"}) {
    EXPECT_TRUE(IsProxyTarget(target)) << target;
  }
  for (const char* target :
       {"/", "", "/v1/token", "/v1/whoami", "/healthz", "/apix/2.1/jobs", "/API/2.1/jobs/list",
        "/w/prod", "/w/prod/", "/w/prod/v1/token", "/w/prod//api/2.1/jobs/list", "//api/2.1/jobs/list",
        "/serving-endpoints", "/v1/token?/api/2.1/jobs/list", "/oidc/v1/token"}) {
    EXPECT_FALSE(IsProxyTarget(target)) << target;
  }
}

TEST(ProxyRouteTest, WorkspaceFromPrefixHeaderOrDefault) {
  struct Case {
    std::string target;
    std::string header;
    std::string default_workspace;
    std::string workspace;
  };
  const std::vector<Case> cases = {
      {"/api/2.1/clusters/list", "", "prod", "prod"},
      {"/api/2.1/clusters/list", "staging", "prod", "staging"},
      {"/w/dev/api/2.1/clusters/list", "", "prod", "dev"},
      {"/w/dev/api/2.1/clusters/list", "dev", "prod", "dev"},
      {"/w/dev/api/2.1/clusters/list", "", "", "dev"},
      {"/api/2.1/clusters/list", "ws.eu-1_a", "", "ws.eu-1_a"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target + " header=" + c.header + " default=" + c.default_workspace);
    Result<ProxyRoute> route = ParseProxyRoute("GET", c.target, c.header, c.default_workspace);
    ASSERT_TRUE(route.has_value()) << route.error().message;
    EXPECT_EQ(route->workspace, c.workspace);
    EXPECT_EQ(route->classification.action, "clusters.read");
    EXPECT_EQ(route->classification.normalized_path, "/api/2.1/clusters/list");
  }
}

TEST(ProxyRouteTest, QueryPassesByteForByte) {
  Result<ProxyRoute> route =
      ParseProxyRoute("GET", "/w/prod/api/2.1//jobs/get/?job_id=%31&x=a+b&&y", "", "");
  ASSERT_TRUE(route.has_value()) << route.error().message;
  EXPECT_EQ(route->query, "job_id=%31&x=a+b&&y");
  EXPECT_EQ(route->classification.normalized_path, "/api/2.1/jobs/get");
  EXPECT_EQ(route->UpstreamTarget(), "/api/2.1/jobs/get?job_id=%31&x=a+b&&y");
  EXPECT_EQ(route->classification.action, "jobs.read");

  route = ParseProxyRoute("POST", "/api/2.0/sql/statements/?", "", "prod");
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ(route->query, "");
  EXPECT_EQ(route->UpstreamTarget(), "/api/2.0/sql/statements");
  EXPECT_EQ(route->classification.action, "sql.execute");
}

TEST(ProxyRouteTest, ServingInvocations) {
  Result<ProxyRoute> route =
      ParseProxyRoute("POST", "/w/prod/serving-endpoints/m1/invocations", "", "");
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ(route->classification.action, "serving.query");
  EXPECT_EQ(route->UpstreamTarget(), "/serving-endpoints/m1/invocations");
}

TEST(ProxyRouteTest, Errors) {
  struct Case {
    std::string method;
    std::string target;
    std::string header;
    std::string default_workspace;
    Errc code;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"GET", "/api/2.1/clusters/list", "", "", Errc::kInvalidRequest, "no workspace"},
      {"GET", "/w/dev/api/2.1/clusters/list", "prod", "", Errc::kInvalidRequest,
       "header contradicts /w/"},
      {"GET", "/w/DEV/api/2.1/clusters/list", "dev", "", Errc::kInvalidRequest,
       "names compare exactly"},
      {"GET", "/w/../api/2.1/clusters/list", "", "", Errc::kInvalidRequest, "'..' workspace"},
      {"GET", "/w/./api/2.1/clusters/list", "", "", Errc::kInvalidRequest, "'.' workspace"},
      {"GET", "/w//api/2.1/clusters/list", "", "prod", Errc::kInvalidRequest, "empty workspace"},
      {"GET", "/w/a%2Fb/api/2.1/clusters/list", "", "", Errc::kInvalidRequest,
       "escapes are not decoded in the workspace"},
      {"GET", "/w/" + std::string(65, 'a') + "/api/2.1/clusters/list", "", "",
       Errc::kInvalidRequest, "workspace name too long"},
      {"GET", "/api/2.1/clusters/list", "pr od", "", Errc::kInvalidRequest, "bad header value"},
      {"GET", "/api/2.1/clusters/list", "..", "prod", Errc::kInvalidRequest, "'..' header"},
      {"GET", "/api/2.1/clusters/list#frag", "", "prod", Errc::kInvalidRequest, "fragment"},
      {"GET", "/api/2.1/clusters/list?a#frag", "", "prod", Errc::kInvalidRequest, "fragment"},
      {"GET", "http://host/api/2.1/clusters/list", "", "prod", Errc::kInvalidRequest,
       "absolute form"},
      {"GET", "*", "", "prod", Errc::kInvalidRequest, "asterisk form"},
      {"GET", "", "", "prod", Errc::kInvalidRequest, "empty"},
      {"POST", "/api/2.1/jobs/%2e%2e/run-now", "", "prod", Errc::kInvalidRequest, "dot segment"},
      {"POST", "/w/prod/api/2.1/jobs%2Frun-now", "", "", Errc::kInvalidRequest, "encoded slash"},
      {"POST", "/api/2.1/Jobs/Run-Now", "", "prod", Errc::kInvalidRequest, "case variant"},
      {"GET", "/v1/token", "", "prod", Errc::kNotFound, "not a proxy path"},
      {"GET", "/w/prod/v1/token", "", "", Errc::kNotFound, "not a proxy path under /w/"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.method + " " + c.target + ": " + c.why);
    Result<ProxyRoute> route = ParseProxyRoute(c.method, c.target, c.header, c.default_workspace);
    ASSERT_FALSE(route.has_value()) << route->workspace;
    EXPECT_EQ(route.error().code, c.code);
    EXPECT_FALSE(route.error().message.empty());
  }
}

TEST(ProxyRouteTest, ClassifiesLikeClassifyCall) {
  for (const char* method : {"GET", "HEAD", "POST", "DELETE"}) {
    for (const char* path : {"/api/2.2/jobs/run-now", "/api/2.0/token/create",
                             "/api/2.1/unity-catalog/catalogs", "/api/9.9/x"}) {
      SCOPED_TRACE(std::string(method) + " " + path);
      Result<ProxyRoute> route = ParseProxyRoute(method, std::string("/w/p") + path, "", "");
      Result<Classification> direct = ClassifyCall(method, path);
      ASSERT_TRUE(route.has_value());
      ASSERT_TRUE(direct.has_value());
      EXPECT_EQ(route->classification.action, direct->action);
      EXPECT_EQ(route->classification.resource, direct->resource);
      EXPECT_EQ(route->classification.api_version, direct->api_version);
    }
  }
}

}  // namespace
}  // namespace dbproxy
