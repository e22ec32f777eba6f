// Workspace URLs, percent-encoding, scopes and Retry-After (common/oauth.hpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/oauth/oauth.hpp"

namespace dbproxy {
namespace {

struct HostCase {
  std::string url;
  std::string expected;  // "" = must be refused
};

TEST(OauthUrlTest, NormalizeWorkspaceHostTable) {
  const std::vector<HostCase> cases = {
      {"https://adb-1.azuredatabricks.net", "https://adb-1.azuredatabricks.net"},
      {"https://Host.Example.com:443/", "https://host.example.com"},
      {"HTTPS://HOST.example.COM", "https://host.example.com"},
      {"https://host:8443", "https://host:8443"},
      {"https://host:08443/", "https://host:8443"},
      {"https://host:00443", "https://host"},
      {"https://127.0.0.1:9443", "https://127.0.0.1:9443"},
      {"https://[::1]:8443/", "https://[::1]:8443"},
      {"https://[FE80::1]", "https://[fe80::1]"},
      {"https://a", "https://a"},
      {"https://evil.com@host", ""},
      {"https://user:pw@host/", ""},
      {"https://host/path", ""},
      {"https://host//", ""},
      {"https://host/?q=1", ""},
      {"https://host?q=1", ""},
      {"https://host#frag", ""},
      {"http://host", ""},
      {"http://", ""},
      {"https://", ""},
      {"https:///", ""},
      {"host.example.com", ""},
      {"ftp://host", ""},
      {"//host", ""},
      {"", ""},
      {"https://host:", ""},
      {"https://host:0", ""},
      {"https://host:65536", ""},
      {"https://host:123456", ""},
      {"https://host:12a", ""},
      {"https://host:443:443", ""},
      {"https://ho st", ""},
      {"https://host.", ""},
      {"https://.host", ""},
      {"https://a..b", ""},
      {"https://-host", ""},
      {"https://host-", ""},
      {"https://ho_st", ""},
      {"https://h%6Fst", ""},
      {"https://host\n", ""},
      {"https://[::1", ""},
      {"https://[::1]x", ""},
      {"https://[fe80::1%25eth0]", ""},
      {"https://" + std::string(64, 'a') + ".com", ""},
      {"https://" + std::string(2048, 'a'), ""},
  };
  for (const HostCase& c : cases) {
    Result<std::string> host = NormalizeWorkspaceHost(c.url);
    if (c.expected.empty()) {
      ASSERT_FALSE(host.has_value()) << c.url << " -> " << *host;
      EXPECT_EQ(host.error().code, Errc::kInvalidRequest) << c.url;
      EXPECT_FALSE(host.error().message.empty());
    } else {
      ASSERT_TRUE(host.has_value()) << c.url << ": " << host.error().message;
      EXPECT_EQ(*host, c.expected) << c.url;
    }
  }
}

TEST(OauthUrlTest, NormalizeWorkspaceHostMessagesAreSpecific) {
  EXPECT_EQ(NormalizeWorkspaceHost("https://evil.com@host").error().message,
            "workspace URL must not contain user information ('@')");
  EXPECT_EQ(NormalizeWorkspaceHost("http://host").error().message,
            "workspace URL must use https, not http");
  EXPECT_EQ(NormalizeWorkspaceHost("https://host/x?y").error().message,
            "workspace URL must not have a query string");
}

TEST(OauthUrlTest, HttpOnlyWhenInsecureAllowed) {
  EXPECT_EQ(*NormalizeWorkspaceHost("http://Localhost:80/", true), "http://localhost");
  EXPECT_EQ(*NormalizeWorkspaceHost("http://localhost:8080", true), "http://localhost:8080");
  EXPECT_EQ(*NormalizeWorkspaceHost("https://localhost:443", true), "https://localhost");
}

TEST(OauthUrlTest, UrlEncode) {
  EXPECT_EQ(UrlEncode(""), "");
  EXPECT_EQ(UrlEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(UrlEncode("all-apis sql:read"), "all-apis%20sql%3Aread");
  EXPECT_EQ(UrlEncode("a+b&c=d/e%"), "a%2Bb%26c%3Dd%2Fe%25");
  EXPECT_EQ(UrlEncode(std::string("\0\xff", 2)), "%00%FF");
}

TEST(OauthUrlTest, UrlDecode) {
  EXPECT_EQ(*UrlDecode(""), "");
  EXPECT_EQ(*UrlDecode("all-apis%20sql%3aread"), "all-apis sql:read");
  EXPECT_EQ(*UrlDecode("a+b"), "a+b");
  EXPECT_EQ(*UrlDecode("%FF"), "\xff");
  EXPECT_EQ(*UrlDecode(UrlEncode("https://h:1/?a=b c")), "https://h:1/?a=b c");
  for (const char* bad : {"%", "%4", "%zz", "a%g1", "%%41", "x%00y"}) {
    Result<std::string> decoded = UrlDecode(bad);
    ASSERT_FALSE(decoded.has_value()) << bad;
    EXPECT_EQ(decoded.error().code, Errc::kInvalidRequest) << bad;
  }
}

// Found by http_target_fuzz: "%00" was refused but a raw NUL byte passed through, so a decoded
// value could still carry a NUL (and ParseQuery's output no longer re-encoded to itself).
TEST(OauthUrlTest, UrlDecodeRefusesRawNul) {
  for (const std::string& bad :
       {std::string("x\0y", 3), std::string(1, '\0'), std::string("a%41\0", 5)}) {
    Result<std::string> decoded = UrlDecode(bad);
    ASSERT_FALSE(decoded.has_value());
    EXPECT_EQ(decoded.error().code, Errc::kInvalidRequest);
  }
}

TEST(OauthUrlTest, CanonicalScope) {
  const std::vector<std::pair<std::string, std::string>> good = {
      {"", ""},
      {"   ", ""},
      {"all-apis", "all-apis"},
      {"sql  all-apis sql", "all-apis sql"},
      {" clusters:read sql:restricted-query ", "clusters:read sql:restricted-query"},
      {"b a c a b", "a b c"},
      {"unity_catalog.x", "unity_catalog.x"},
  };
  for (const auto& [in, want] : good) {
    Result<std::string> scope = CanonicalScope(in);
    ASSERT_TRUE(scope.has_value()) << in;
    EXPECT_EQ(*scope, want) << in;
  }
  for (const std::string& bad : std::vector<std::string>{"sql\tall-apis", "a,b", "a/b", "é",
                                                         "sql\n", "a=b", std::string(4097, 'a')}) {
    Result<std::string> scope = CanonicalScope(bad);
    ASSERT_FALSE(scope.has_value()) << bad;
    EXPECT_EQ(scope.error().code, Errc::kInvalidRequest);
  }
}

TEST(OauthUrlTest, TokenExchangeBody) {
  const SecretBytes token = SecretBytes::CopyFrom("eyJh.eyJi.c2ln-_");
  EXPECT_EQ(TokenExchangeBody(token, "sp id", "all-apis").view(),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"
            "&subject_token=eyJh.eyJi.c2ln-_"
            "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt"
            "&client_id=sp%20id&scope=all-apis");
  EXPECT_EQ(TokenExchangeBody(SecretBytes::CopyFrom("a+b"), "", "").view(),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"
            "&subject_token=a%2Bb"
            "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt")
      << "account-wide federation sends no client_id";
}

TEST(OauthUrlTest, ClientCredentialsBody) {
  EXPECT_EQ(ClientCredentialsBody("all-apis"), "grant_type=client_credentials&scope=all-apis");
  EXPECT_EQ(ClientCredentialsBody("clusters:read sql"),
            "grant_type=client_credentials&scope=clusters%3Aread%20sql");
  EXPECT_EQ(ClientCredentialsBody(""), "grant_type=client_credentials");
}

// 1994-11-06T08:49:37Z, the RFC's example date.
constexpr std::int64_t kRfcExample = 784111777;

TEST(OauthUrlTest, RetryAfterDelaySeconds) {
  const std::vector<std::pair<std::string, int>> cases = {
      {"0", 0},
      {"1", 1},
      {"120", 120},
      {" 30\t", 30},
      {"3600", 3600},
      {"3601", 3600},
      {"99999999999999999999", 3600},
      {"", 0},
      {"  ", 0},
      {"-5", 0},
      {"+5", 0},
      {"1.5", 0},
      {"12 34", 0},
      {"0x10", 0},
      {"5s", 0},
  };
  for (const auto& [value, want] : cases) {
    EXPECT_EQ(ParseRetryAfter(value, kRfcExample), want) << "'" << value << "'";
  }
}

TEST(OauthUrlTest, RetryAfterImfFixdate) {
  const std::string date = "Sun, 06 Nov 1994 08:49:37 GMT";
  EXPECT_EQ(ParseRetryAfter(date, kRfcExample - 90), 90);
  EXPECT_EQ(ParseRetryAfter(" " + date + " ", kRfcExample - 1), 1);
  EXPECT_EQ(ParseRetryAfter(date, kRfcExample), 0);
  EXPECT_EQ(ParseRetryAfter(date, kRfcExample + 10), 0);
  EXPECT_EQ(ParseRetryAfter(date, kRfcExample - 7200), 3600);
  // Leap day and year boundaries: 2024-02-29T00:00:00Z = 1709164800.
  EXPECT_EQ(ParseRetryAfter("Thu, 29 Feb 2024 00:00:00 GMT", 1709164800 - 5), 5);
  // 2000-01-01T00:00:00Z = 946684800 (a leap century).
  EXPECT_EQ(ParseRetryAfter("Sat, 01 Jan 2000 00:00:00 GMT", 946684800 - 42), 42);
  EXPECT_EQ(ParseRetryAfter("Fri, 31 Dec 2100 23:59:60 GMT", 4133980800 - 1), 1);
}

TEST(OauthUrlTest, RetryAfterRefusesOtherDates) {
  for (const char* bad : {
           "Sunday, 06-Nov-94 08:49:37 GMT",  // RFC 850 (obsolete)
           "Sun Nov  6 08:49:37 1994",        // asctime (obsolete)
           "Sun, 06 Nov 1994 08:49:37 UTC",   // wrong zone
           "Sun, 6 Nov 1994 08:49:37 GMT",    // one-digit day
           "Sun, 31 Nov 1994 08:49:37 GMT",   // no such day
           "Sun, 29 Feb 2023 08:49:37 GMT",   // not a leap year
           "Sun, 29 Feb 2100 08:49:37 GMT",   // not a leap year
           "Sun, 06 Nov 1994 24:00:00 GMT",   // hour
           "Sun, 06 Nov 1994 08:60:00 GMT",   // minute
           "Sun, 06 Nov 1994 08:49:61 GMT",   // second
           "Xyz, 06 Nov 1994 08:49:37 GMT",   // day name
           "Sun, 06 Foo 1994 08:49:37 GMT",   // month name
           "Sun, 06 Nov 19a4 08:49:37 GMT",   // digits
           "Thu, 01 Jan 1960 00:00:00 GMT",   // before the epoch
       }) {
    EXPECT_EQ(ParseRetryAfter(bad, 0), 0) << bad;
  }
}

}  // namespace
}  // namespace dbproxy
