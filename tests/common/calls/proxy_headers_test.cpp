#include "common/calls/proxy_headers.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dbproxy {
namespace {

std::vector<std::string> Names(const std::vector<HeaderField>& fields) {
  std::vector<std::string> names;
  for (const HeaderField& field : fields) names.push_back(field.name);
  return names;
}

std::string ValueOf(const std::vector<HeaderField>& fields, const std::string& name) {
  for (const HeaderField& field : fields) {
    if (field.name == name) return field.value;
  }
  return "<absent>";
}

TEST(ProxyHeadersTest, RequestDropsCredentialsHopByHopAndLocalIdentity) {
  const std::vector<HeaderField> caller = {
      {"Host", "localhost"},
      {"authorization", "Bearer dapi0123"},
      {"Proxy-Authorization", "Basic x"},
      {"Cookie", "session=1"},
      {"X-Databricks-Azure-SP-Management-Token", "t"},
      {"X-Databricks-Azure-Workspace-Resource-Id", "/subscriptions/x"},
      {"X-Databricks-GCP-SA-Access-Token", "t"},
      {"Connection", "keep-alive, X-Secret-Hop ,Upgrade"},
      {"Keep-Alive", "timeout=5"},
      {"Proxy-Connection", "keep-alive"},
      {"TE", "trailers"},
      {"Trailer", "X-Checksum"},
      {"Transfer-Encoding", "chunked"},
      {"Upgrade", "h2c"},
      {"x-secret-hop", "1"},
      {"Content-Length", "12"},
      {"Expect", "100-continue"},
      {"Forwarded", "for=127.0.0.1"},
      {"Via", "1.1 local"},
      {"X-Forwarded-For", "10.0.0.1"},
      {"x-forwarded-user", "alice"},
      {"X-Real-IP", "10.0.0.1"},
      {"X-Dbproxy-Workspace", "prod"},
      {"X-Dbproxy-SAML-Assertion", "PHNhbWw6QXNzZXJ0aW9uLz4="},
      {"x-dbproxy-identity", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"},
      {"Content-Type", "application/json"},
      {"Accept", "*/*"},
      {"X-Databricks-Org-Id", "123"},
      {"Traceparent", "00-abc-def-01"},
  };
  const std::vector<HeaderField> out = RequestHeadersToForward(caller, "1.2.3");
  EXPECT_EQ(Names(out), (std::vector<std::string>{"Content-Type", "Accept", "X-Databricks-Org-Id",
                                                  "Traceparent", "User-Agent"}));
  EXPECT_EQ(ValueOf(out, "Content-Type"), "application/json");
  EXPECT_EQ(ValueOf(out, "User-Agent"), "dbproxy/1.2.3");
}

// The policy classifies a call by its real method and path: a field that asks the server to
// act as if another method or path had been sent must not reach it, whatever its spelling.
TEST(ProxyHeadersTest, RequestDropsMethodAndPathOverrides) {
  const std::vector<HeaderField> caller = {
      {"X-HTTP-Method-Override", "DELETE"}, {"x-http-method", "POST"},
      {"X-Method-Override", "PUT"},         {"X-HTTP-METHOD-OVERRIDE", "PATCH"},
      {"X-Original-URL", "/api/2.1/clusters/permanent-delete"},
      {"x-rewrite-url", "/api/2.1/jobs/delete"},
      {"X-Methods", "kept"},                {"Accept", "*/*"},
  };
  const std::vector<HeaderField> out = RequestHeadersToForward(caller, "1.2.3");
  EXPECT_EQ(Names(out), (std::vector<std::string>{"X-Methods", "Accept", "User-Agent"}));
  for (const char* name : {"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override",
                           "x-original-url", "X-Rewrite-URL"}) {
    EXPECT_FALSE(IsForwardableRequestHeader(name)) << name;
  }
}

TEST(ProxyHeadersTest, UserAgentIsAppendedInPlace) {
  const std::vector<HeaderField> caller = {{"user-agent", "databricks-sdk-go/0.40 go/1.22 "},
                                           {"Accept", "application/json"},
                                           {"User-Agent", "second"}};
  const std::vector<HeaderField> out = RequestHeadersToForward(caller, "0.9");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "user-agent");
  EXPECT_EQ(out[0].value, "databricks-sdk-go/0.40 go/1.22 dbproxy/0.9");
  EXPECT_EQ(out[1].name, "Accept");
  EXPECT_EQ(UserAgentFor("", "0.9"), "dbproxy/0.9");
  EXPECT_EQ(UserAgentFor(" \t", "0.9"), "dbproxy/0.9");
}

TEST(ProxyHeadersTest, ResponseDropsHopByHopFramingAndCookies) {
  const std::vector<HeaderField> upstream = {
      {"Connection", "close, X-Internal"},
      {"X-Internal", "1"},
      {"Transfer-Encoding", "chunked"},
      {"Content-Length", "99"},
      {"Set-Cookie", "DATAPLANE=abc"},
      {"Alt-Svc", "h3=\":443\""},
      {"Keep-Alive", "timeout=5"},
      {"Content-Type", "application/json"},
      {"Retry-After", "3"},
      {"X-Request-Id", "r-1"},
      {"x-databricks-request-id", "r-2"},
      {"Strict-Transport-Security", "max-age=1"},
  };
  EXPECT_EQ(Names(ResponseHeadersToReturn(upstream)),
            (std::vector<std::string>{"Content-Type", "Retry-After", "X-Request-Id",
                                      "x-databricks-request-id", "Strict-Transport-Security"}));
}

TEST(ProxyHeadersTest, SingleFieldPredicates) {
  for (const char* name : {"Content-Type", "Accept", "User-Agent", "X-Databricks-Org-Id"}) {
    EXPECT_TRUE(IsForwardableRequestHeader(name)) << name;
  }
  for (const char* name : {"AUTHORIZATION", "host", "te", "X-DBPROXY-ANYTHING", "X-Forwarded-Host",
                           "content-length"}) {
    EXPECT_FALSE(IsForwardableRequestHeader(name)) << name;
  }
  EXPECT_TRUE(IsReturnableResponseHeader("Retry-After"));
  EXPECT_FALSE(IsReturnableResponseHeader("set-cookie"));
  EXPECT_FALSE(IsReturnableResponseHeader("UPGRADE"));
}

TEST(ProxyHeadersTest, DatabricksRequestIdPrefersXRequestId) {
  EXPECT_EQ(DatabricksRequestId(std::vector<HeaderField>{{"x-databricks-request-id", "b"},
                                                         {"x-request-id", "a"}}),
            "a");
  EXPECT_EQ(DatabricksRequestId(std::vector<HeaderField>{{"X-Databricks-Request-Id", "b"}}), "b");
  EXPECT_EQ(DatabricksRequestId(std::vector<HeaderField>{{"Content-Type", "x"}}), "");
}

}  // namespace
}  // namespace dbproxy
