#include "common/core/config.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace dbproxy {
namespace {

constexpr char kFile[] = "/etc/dbproxy/agent.toml";

// The error text of a config that must not parse.
std::string ErrorOf(const std::string& text) {
  Result<AgentConfig> config = ParseAgentConfig(text, kFile);
  if (config) {
    ADD_FAILURE() << "parsed unexpectedly:\n" << text;
    return {};
  }
  EXPECT_EQ(config.error().code, Errc::kInvalidRequest);
  return config.error().message;
}

int CountLines(const std::string& text) {
  int lines = 1;
  for (const char c : text)
    lines += c == '\n' ? 1 : 0;
  return lines;
}

TEST(ConfigTest, EmptyTextGivesDefaults) {
  Result<AgentConfig> config = ParseAgentConfig("", kFile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->agent.socket, "/run/dbproxy/agent.sock");
  EXPECT_EQ(config->agent.admin_socket, "/run/dbproxy/admin.sock");
  EXPECT_EQ(config->agent.admin_group, "dbproxy-admin");
  EXPECT_EQ(config->agent.state_dir, "/var/lib/dbproxy");
  EXPECT_EQ(config->agent.policy_dir, "/etc/dbproxy/policy.d");
  EXPECT_EQ(config->agent.key_file, "/etc/dbproxy/master.key");
  EXPECT_EQ(config->upstream.ca_file, "");
  EXPECT_EQ(config->upstream.timeout_ms, 10000);
  EXPECT_EQ(config->tokens.refresh_ahead_seconds, 300);
  EXPECT_EQ(config->tokens.min_ttl_seconds, 60);
  EXPECT_EQ(config->audit.file, "/var/log/dbproxy/audit.log");
}

TEST(ConfigTest, EmptySectionsGiveDefaults) {
  Result<AgentConfig> config =
      ParseAgentConfig("[agent]\n[upstream]\n[tokens]\n[audit]\n# comment only\n", kFile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->agent.socket, "/run/dbproxy/agent.sock");
  EXPECT_EQ(config->upstream.timeout_ms, 10000);
  EXPECT_EQ(config->audit.file, "/var/log/dbproxy/audit.log");
}

TEST(ConfigTest, ReadsEveryKey) {
  const std::string text = R"(
[agent]
socket       = "/tmp/a/agent.sock"
admin_socket = "/tmp/a/admin.sock"
admin_group  = "wheel"
state_dir    = "/srv/state"
policy_dir   = "/srv/policy.d"
key_file     = "/srv/master.key"

[upstream]
ca_file    = "/etc/ssl/workspace.pem"
timeout_ms = 2500

[tokens]
refresh_ahead_seconds = 120
min_ttl_seconds       = 30

[audit]
file = "/srv/audit.log"
)";
  Result<AgentConfig> config = ParseAgentConfig(text, kFile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->agent.socket, "/tmp/a/agent.sock");
  EXPECT_EQ(config->agent.admin_socket, "/tmp/a/admin.sock");
  EXPECT_EQ(config->agent.admin_group, "wheel");
  EXPECT_EQ(config->agent.state_dir, "/srv/state");
  EXPECT_EQ(config->agent.policy_dir, "/srv/policy.d");
  EXPECT_EQ(config->agent.key_file, "/srv/master.key");
  EXPECT_EQ(config->upstream.ca_file, "/etc/ssl/workspace.pem");
  EXPECT_EQ(config->upstream.timeout_ms, 2500);
  EXPECT_EQ(config->tokens.refresh_ahead_seconds, 120);
  EXPECT_EQ(config->tokens.min_ttl_seconds, 30);
  EXPECT_EQ(config->audit.file, "/srv/audit.log");
}

TEST(ConfigTest, ReadsProxyAndAuditKeys) {
  const std::string text = R"(
[upstream]
connect_timeout_ms       = 750
max_connections_per_host = 4

[proxy]
enabled            = false
inspect_body_limit = 4096
max_request_body   = 1048576
request_timeout_ms = 5000

[audit]
file           = ""
fsync          = "always"
batch_ms       = 5
journald       = false
fail_closed    = false
log_statements = true
queue_size     = 64
)";
  Result<AgentConfig> config = ParseAgentConfig(text, kFile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->upstream.connect_timeout_ms, 750);
  EXPECT_EQ(config->upstream.max_connections_per_host, 4);
  EXPECT_FALSE(config->proxy.enabled);
  EXPECT_EQ(config->proxy.inspect_body_limit, 4096);
  EXPECT_EQ(config->proxy.max_request_body, 1048576);
  EXPECT_EQ(config->proxy.request_timeout_ms, 5000);
  EXPECT_EQ(config->audit.file, "");
  EXPECT_EQ(config->audit.fsync, AuditFsync::kAlways);
  EXPECT_EQ(config->audit.batch_ms, 5);
  EXPECT_FALSE(config->audit.journald);
  EXPECT_FALSE(config->audit.fail_closed);
  EXPECT_TRUE(config->audit.log_statements);
  EXPECT_EQ(config->audit.queue_size, 64);
}

TEST(ConfigTest, AuditAndProxyDefaults) {
  Result<AgentConfig> config = ParseAgentConfig("", kFile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_TRUE(config->proxy.enabled);
  EXPECT_EQ(config->proxy.inspect_body_limit, 1024 * 1024);
  EXPECT_EQ(config->audit.fsync, AuditFsync::kBatch);
  EXPECT_TRUE(config->audit.journald);
  EXPECT_TRUE(config->audit.fail_closed);
  EXPECT_FALSE(config->audit.log_statements);
}

TEST(ConfigTest, BadAuditFsyncAndBoolsAreErrors) {
  const std::string message =
      ErrorOf("[audit]\nfsync = \"sometimes\"\njournald = \"yes\"\n[proxy]\nenabled = 1\n");
  EXPECT_NE(message.find("'fsync' must be"), std::string::npos) << message;
  EXPECT_NE(message.find("'journald' must be true or false"), std::string::npos) << message;
  EXPECT_NE(message.find("'enabled' must be true or false"), std::string::npos) << message;
}

TEST(ConfigTest, ReadmeExampleParses) {
  const std::string text = R"([agent]
socket       = "/run/dbproxy/agent.sock"   # client API
admin_socket = "/run/dbproxy/admin.sock"   # admin API
admin_group  = "dbproxy-admin"
state_dir    = "/var/lib/dbproxy"
policy_dir   = "/etc/dbproxy/policy.d"
key_file     = "/etc/dbproxy/master.key"

[upstream]
ca_file    = ""
timeout_ms = 10000

[tokens]
refresh_ahead_seconds = 300
min_ttl_seconds       = 60

[audit]
file = "/var/log/dbproxy/audit.log"
)";
  Result<AgentConfig> config = ParseAgentConfig(text, kFile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->upstream.ca_file, "");
}

TEST(ConfigTest, DottedKeysAreEquivalentToSections) {
  Result<AgentConfig> config =
      ParseAgentConfig("agent.socket = \"/x/a.sock\"\ntokens.min_ttl_seconds = 5\n", kFile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->agent.socket, "/x/a.sock");
  EXPECT_EQ(config->tokens.min_ttl_seconds, 5);
}

TEST(ConfigTest, EmptyAdminGroupMeansRootOnly) {
  Result<AgentConfig> config = ParseAgentConfig("[agent]\nadmin_group = \"\"\n", kFile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->agent.admin_group, "");
}

TEST(ConfigTest, EmptyCaFileMeansSystemStore) {
  Result<AgentConfig> config = ParseAgentConfig("[upstream]\nca_file = \"\"\n", kFile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->upstream.ca_file, "");
}

TEST(ConfigTest, IntegerBoundsAreInclusive) {
  const std::string low =
      "[upstream]\ntimeout_ms = 100\n[tokens]\nrefresh_ahead_seconds = 0\n"
      "min_ttl_seconds = 0\n";
  Result<AgentConfig> config = ParseAgentConfig(low, kFile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->upstream.timeout_ms, 100);
  EXPECT_EQ(config->tokens.refresh_ahead_seconds, 0);
  EXPECT_EQ(config->tokens.min_ttl_seconds, 0);

  const std::string high =
      "[upstream]\ntimeout_ms = 300000\n[tokens]\n"
      "refresh_ahead_seconds = 3000\nmin_ttl_seconds = 3000\n";
  config = ParseAgentConfig(high, kFile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->upstream.timeout_ms, 300000);
  EXPECT_EQ(config->tokens.refresh_ahead_seconds, 3000);
  EXPECT_EQ(config->tokens.min_ttl_seconds, 3000);
}

TEST(ConfigTest, ReadsIdpTables) {
  const std::string text = R"([upstream]
ca_file = "/etc/ssl/corp.pem"

[[idp]]
name = "corp"
issuer = "https://login.example.com/tenant/v2.0"
audience = "api://dbproxy"
claims = ["groups", "email"]

[[idp]]
name = "ci_runners-2"
issuer = "https://token.actions.example.com"
audience = ["dbproxy", "dbproxy-ci"]
jwks_uri = "https://token.actions.example.com/.well-known/jwks?v=2"
ca_file = "/etc/ssl/ci.pem"
algorithms = ["ES384", "EdDSA"]
clock_skew_seconds = 0
)";
  Result<AgentConfig> config = ParseAgentConfig(text, kFile);
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->idps.size(), 2u);
  const IdpSection& corp = config->idps[0];
  EXPECT_EQ(corp.name, "corp");
  EXPECT_EQ(corp.issuer, "https://login.example.com/tenant/v2.0");
  EXPECT_EQ(corp.audiences, std::vector<std::string>{"api://dbproxy"});
  EXPECT_EQ(corp.jwks_uri, "") << "discovery";
  EXPECT_EQ(corp.ca_file, "/etc/ssl/corp.pem") << "defaults to [upstream] ca_file";
  EXPECT_EQ(corp.algorithms, (std::vector<std::string>{"RS256", "ES256"}));
  EXPECT_EQ(corp.clock_skew_seconds, 60);
  EXPECT_EQ(corp.claims, (std::vector<std::string>{"groups", "email"}));
  const IdpSection& ci = config->idps[1];
  EXPECT_EQ(ci.name, "ci_runners-2");
  EXPECT_EQ(ci.audiences, (std::vector<std::string>{"dbproxy", "dbproxy-ci"}));
  EXPECT_EQ(ci.jwks_uri, "https://token.actions.example.com/.well-known/jwks?v=2");
  EXPECT_EQ(ci.ca_file, "/etc/ssl/ci.pem");
  EXPECT_EQ(ci.algorithms, (std::vector<std::string>{"ES384", "EdDSA"}));
  EXPECT_EQ(ci.clock_skew_seconds, 0);
  EXPECT_TRUE(ci.claims.empty());
}

TEST(ConfigTest, ReadsFederationWithDefaults) {
  Result<AgentConfig> defaults = ParseAgentConfig("", kFile);
  ASSERT_TRUE(defaults) << defaults.error().message;
  EXPECT_EQ(defaults->federation.issuer, "") << "filled in by the agent from the hostname";
  EXPECT_EQ(defaults->federation.algorithm, "ES256");
  EXPECT_EQ(defaults->federation.assertion_lifetime_seconds, 300);
  Result<AgentConfig> set = ParseAgentConfig(
      "[federation]\nissuer = \"https://vm-7.corp.example/dbproxy\"\nalgorithm = \"RS256\"\n"
      "assertion_lifetime_seconds = 60\n",
      kFile);
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->federation.issuer, "https://vm-7.corp.example/dbproxy");
  EXPECT_EQ(set->federation.algorithm, "RS256");
  EXPECT_EQ(set->federation.assertion_lifetime_seconds, 60);
}

TEST(ConfigTest, NoIdpMeansNone) {
  Result<AgentConfig> config = ParseAgentConfig("", kFile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_TRUE(config->idps.empty());
  EXPECT_TRUE(config->saml_idps.empty());
}

TEST(ConfigTest, ReadsSamlIdpTables) {
  const std::string text = R"([[saml_idp]]
name = "corp-saml"
entity_id = "https://sts.example.com/adfs/services/trust"
certificate_file = "/etc/dbproxy/saml/corp.pem"
audience = "https://dbproxy.example.com"

[[saml_idp]]
name = "okta"
entity_id = "http://www.okta.com/exk1"
certificate_file = "/etc/dbproxy/saml/okta.pem"
audience = ["dbproxy", "urn:dbproxy"]
clock_skew_seconds = 0
)";
  Result<AgentConfig> config = ParseAgentConfig(text, kFile);
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->saml_idps.size(), 2u);
  const SamlIdpSection& corp = config->saml_idps[0];
  EXPECT_EQ(corp.name, "corp-saml");
  EXPECT_EQ(corp.entity_id, "https://sts.example.com/adfs/services/trust");
  EXPECT_EQ(corp.certificate_file, "/etc/dbproxy/saml/corp.pem");
  EXPECT_EQ(corp.audiences, std::vector<std::string>{"https://dbproxy.example.com"});
  EXPECT_EQ(corp.clock_skew_seconds, 60);
  const SamlIdpSection& okta = config->saml_idps[1];
  EXPECT_EQ(okta.entity_id, "http://www.okta.com/exk1") << "any printable entity ID";
  EXPECT_EQ(okta.audiences, (std::vector<std::string>{"dbproxy", "urn:dbproxy"}));
  EXPECT_EQ(okta.clock_skew_seconds, 0);
}

// One bad config, the line its error must name, and words its message must contain.
struct BadConfigCase {
  const char* label;
  std::string text;
  int line;
  std::string needle;
};

void PrintTo(const BadConfigCase& c, std::ostream* os) {
  *os << c.label;
}

constexpr char kIdp[] = "[[idp]]\nname = \"corp\"\nissuer = \"https://idp.example.com\"\naudience = \"dbproxy\"\n";
// Five lines; the name "saml" starts at offset 21.
constexpr char kSamlIdp[] =
    "[[saml_idp]]\nname = \"saml\"\nentity_id = \"https://idp.example.com/saml\"\n"
    "certificate_file = \"/etc/dbproxy/saml.pem\"\naudience = \"dbproxy\"\n";

class ConfigRejectTest : public ::testing::TestWithParam<BadConfigCase> {};

TEST_P(ConfigRejectTest, NamesFileLineAndProblem) {
  const BadConfigCase& c = GetParam();
  const std::string message = ErrorOf(c.text);
  EXPECT_NE(message.find(std::string(kFile) + ":" + std::to_string(c.line) + ":"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(c.needle), std::string::npos) << message;
  EXPECT_EQ(CountLines(message), 1) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Values, ConfigRejectTest,
    ::testing::Values(
        BadConfigCase{"unknown section", "\n[agnet]\nsocket = \"/a\"\n", 2, "unknown key 'agnet'"},
        BadConfigCase{"unknown top-level key", "verbose = true\n", 1, "unknown key 'verbose'"},
        BadConfigCase{"unknown agent key", "[agent]\n\nsokcet = \"/a\"\n", 3,
                      "unknown key 'sokcet'"},
        BadConfigCase{"unknown upstream key", "[upstream]\nproxy = \"x\"\n", 2,
                      "unknown key 'proxy'"},
        BadConfigCase{"unknown tokens key", "[tokens]\nmax_ttl_seconds = 5\n", 2,
                      "unknown key 'max_ttl_seconds'"},
        BadConfigCase{"unknown audit key", "[audit]\nrotate = true\n", 2, "unknown key 'rotate'"},
        BadConfigCase{"federation issuer not https", "[federation]\nissuer = \"http://x\"\n", 2,
                      "'issuer' must be an https:// URL"},
        BadConfigCase{"federation algorithm", "[federation]\nalgorithm = \"HS256\"\n", 2,
                      "'algorithm' must be"},
        BadConfigCase{"federation lifetime over 5 minutes",
                      "[federation]\nassertion_lifetime_seconds = 301\n", 2,
                      "assertion_lifetime_seconds"},
        BadConfigCase{"unknown key names its table", "[audit]\nrotate = true\n", 2, "[audit]"},
        BadConfigCase{"section as string", "agent = \"x\"\n", 1, "'agent' must be a table"},
        BadConfigCase{"socket as integer", "[agent]\nsocket = 5\n", 2, "'socket' must be a string"},
        BadConfigCase{"admin_group as array", "[agent]\nadmin_group = [\"a\"]\n", 2,
                      "'admin_group' must be a string"},
        BadConfigCase{"timeout as string", "[upstream]\ntimeout_ms = \"100\"\n", 2,
                      "'timeout_ms' must be an integer"},
        BadConfigCase{"timeout as float", "[upstream]\ntimeout_ms = 100.0\n", 2,
                      "'timeout_ms' must be an integer"},
        BadConfigCase{"refresh as bool", "[tokens]\nrefresh_ahead_seconds = true\n", 2,
                      "'refresh_ahead_seconds' must be an integer"},
        BadConfigCase{"timeout too small", "[upstream]\ntimeout_ms = 99\n", 2,
                      "'timeout_ms' must be between 100 and 300000"},
        BadConfigCase{"timeout too large", "[upstream]\ntimeout_ms = 300001\n", 2,
                      "between 100 and 300000"},
        BadConfigCase{"timeout huge", "[upstream]\ntimeout_ms = 9223372036854775807\n", 2,
                      "between 100 and 300000"},
        BadConfigCase{"refresh negative", "[tokens]\nrefresh_ahead_seconds = -1\n", 2,
                      "between 0 and 3000"},
        BadConfigCase{"refresh too large", "[tokens]\nrefresh_ahead_seconds = 3001\n", 2,
                      "between 0 and 3000"},
        BadConfigCase{"min ttl too large", "[tokens]\nmin_ttl_seconds = 3001\n", 2,
                      "'min_ttl_seconds' must be between 0 and 3000"},
        BadConfigCase{"relative socket", "[agent]\nsocket = \"run/agent.sock\"\n", 2,
                      "'socket' must be an absolute path"},
        BadConfigCase{"dot-relative admin socket", "[agent]\nadmin_socket = \"./admin.sock\"\n", 2,
                      "'admin_socket' must be an absolute path"},
        BadConfigCase{"relative state dir", "[agent]\nstate_dir = \"var/lib\"\n", 2,
                      "'state_dir' must be an absolute path"},
        BadConfigCase{"relative policy dir", "[agent]\npolicy_dir = \"policy.d\"\n", 2,
                      "'policy_dir' must be an absolute path"},
        BadConfigCase{"relative key file", "[agent]\nkey_file = \"~/master.key\"\n", 2,
                      "'key_file' must be an absolute path"},
        BadConfigCase{"empty key file", "[agent]\nkey_file = \"\"\n", 2,
                      "'key_file' must be an absolute path"},
        BadConfigCase{"empty socket", "[agent]\nsocket = \"\"\n", 2,
                      "'socket' must be an absolute path"},
        BadConfigCase{"relative ca file", "[upstream]\nca_file = \"ca.pem\"\n", 2,
                      "'ca_file' must be an absolute path"},
        BadConfigCase{"relative audit file", "[audit]\nfile = \"audit.log\"\n", 2,
                      "'file' must be an absolute path"},
        BadConfigCase{"socket equals admin socket",
                      "[agent]\nsocket = \"/run/x.sock\"\nadmin_socket = \"/run/x.sock\"\n", 1,
                      "'socket' and 'admin_socket' must differ"},
        BadConfigCase{"socket set to the default admin socket",
                      "\n[agent]\nsocket = \"/run/dbproxy/admin.sock\"\n", 2, "must differ"},
        BadConfigCase{"idp as a table", "[idp]\nname = \"x\"\n", 1, "[[idp]] tables"},
        BadConfigCase{"idp without name",
                      "[[idp]]\nissuer = \"https://i.example.com\"\naudience = \"a\"\n", 1,
                      "missing required key 'name'"},
        BadConfigCase{"idp with a bad name",
                      std::string(kIdp) + "[[idp]]\nname = \"Corp\"\n"
                                          "issuer = \"https://b.example.com\"\naudience = \"a\"\n",
                      6, "'name' must be 1 to 64 characters"},
        BadConfigCase{"idp defined twice",
                      std::string(kIdp) + "[[idp]]\nname = \"corp\"\n"
                                          "issuer = \"https://b.example.com\"\naudience = \"a\"\n",
                      6, "idp 'corp' is defined twice"},
        BadConfigCase{"idp issuer used twice",
                      std::string(kIdp) +
                          "[[idp]]\nname = \"b\"\n"
                          "issuer = \"https://idp.example.com\"\naudience = \"a\"\n",
                      7, "another [[idp]] has the same issuer"},
        BadConfigCase{"idp without issuer", "[[idp]]\nname = \"corp\"\naudience = \"a\"\n", 1,
                      "missing required key 'issuer'"},
        BadConfigCase{"idp with an http issuer",
                      "[[idp]]\nname = \"corp\"\nissuer = \"http://idp.example.com\"\n"
                      "audience = \"a\"\n",
                      3, "'issuer' must be an https:// URL"},
        BadConfigCase{"idp issuer with a query",
                      "[[idp]]\nname = \"corp\"\nissuer = \"https://idp.example.com?x=1\"\n"
                      "audience = \"a\"\n",
                      3, "without query or fragment"},
        BadConfigCase{"idp without audience",
                      "[[idp]]\nname = \"corp\"\nissuer = \"https://idp.example.com\"\n", 1,
                      "missing required key 'audience'"},
        BadConfigCase{"idp with no audiences",
                      "[[idp]]\nname = \"corp\"\n"
                      "issuer = \"https://idp.example.com\"\naudience = []\n",
                      4, "'audience' must name non-empty audiences"},
        BadConfigCase{"idp with an http jwks_uri",
                      std::string(kIdp) + "jwks_uri = \"http://idp.example.com/keys\"\n", 5,
                      "'jwks_uri' must be an https:// URL"},
        BadConfigCase{"idp with a relative ca_file", std::string(kIdp) + "ca_file = \"ca.pem\"\n",
                      5, "'ca_file' must be an absolute path"},
        BadConfigCase{"idp accepting HS256",
                      std::string(kIdp) + "algorithms = [\"RS256\", \"HS256\"]\n", 5,
                      "is never accepted"},
        BadConfigCase{"idp accepting none", std::string(kIdp) + "algorithms = [\"none\"]\n", 5,
                      "\"none\" is never accepted"},
        BadConfigCase{"idp with an unknown algorithm",
                      std::string(kIdp) + "algorithms = [\"XS256\"]\n", 5, "is not supported"},
        BadConfigCase{"idp with no algorithms", std::string(kIdp) + "algorithms = []\n", 5,
                      "algorithms must not be empty"},
        BadConfigCase{"idp skew too large", std::string(kIdp) + "clock_skew_seconds = 601\n", 5,
                      "'clock_skew_seconds' must be between 0 and 600"},
        BadConfigCase{"idp unknown key", std::string(kIdp) + "jwks = \"x\"\n", 5,
                      "[[idp]] 'corp': unknown key 'jwks'"},
        BadConfigCase{"idp with an empty claim", std::string(kIdp) + "claims = [\"\"]\n", 5,
                      "a claim name is empty"},
        BadConfigCase{"saml_idp as a table", "[saml_idp]\nname = \"x\"\n", 1,
                      "[[saml_idp]] tables"},
        BadConfigCase{"saml_idp named like an idp",
                      std::string(kIdp) + std::string(kSamlIdp).replace(21, 4, "corp"), 6,
                      "idp 'corp' is defined twice"},
        BadConfigCase{"saml_idp defined twice",
                      std::string(kSamlIdp) +
                          "[[saml_idp]]\nname = \"saml\"\nentity_id = \"e2\"\n"
                          "certificate_file = \"/c.pem\"\naudience = \"a\"\n",
                      7,
                      "idp 'saml' is defined twice"},
        BadConfigCase{"saml_idp entity_id used twice",
                      std::string(kSamlIdp) + std::string(kSamlIdp).replace(21, 4, "sam2"), 8,
                      "another [[saml_idp]] has the same entity_id"},
        BadConfigCase{"saml_idp without entity_id",
                      "[[saml_idp]]\nname = \"s\"\ncertificate_file = \"/c.pem\"\n"
                      "audience = \"a\"\n",
                      1, "missing required key 'entity_id'"},
        BadConfigCase{"saml_idp entity_id with a newline",
                      "[[saml_idp]]\nname = \"s\"\nentity_id = \"a\\nb\"\n"
                      "certificate_file = \"/c.pem\"\naudience = \"a\"\n",
                      3, "'entity_id' must be non-empty printable text"},
        BadConfigCase{"saml_idp without certificate_file",
                      "[[saml_idp]]\nname = \"s\"\nentity_id = \"e\"\naudience = \"a\"\n", 1,
                      "missing required key 'certificate_file'"},
        BadConfigCase{"saml_idp with a relative certificate_file",
                      "[[saml_idp]]\nname = \"s\"\nentity_id = \"e\"\n"
                      "certificate_file = \"c.pem\"\naudience = \"a\"\n",
                      4, "'certificate_file' must be an absolute path"},
        BadConfigCase{"saml_idp without audience",
                      "[[saml_idp]]\nname = \"s\"\nentity_id = \"e\"\n"
                      "certificate_file = \"/c.pem\"\n",
                      1, "missing required key 'audience'"},
        BadConfigCase{"saml_idp skew too large",
                      std::string(kSamlIdp) + "clock_skew_seconds = 601\n", 6,
                      "'clock_skew_seconds' must be between 0 and 600"},
        BadConfigCase{"saml_idp unknown key", std::string(kSamlIdp) + "claims = [\"x\"]\n", 6,
                      "[[saml_idp]] 'saml': unknown key 'claims'"}));

// toml++ reports "file:line:col: description" for syntax errors.
struct SyntaxCase {
  const char* label;
  std::string text;
  int line;
};

void PrintTo(const SyntaxCase& c, std::ostream* os) {
  *os << c.label;
}

class ConfigSyntaxTest : public ::testing::TestWithParam<SyntaxCase> {};

TEST_P(ConfigSyntaxTest, ReportsFileLineColumn) {
  const SyntaxCase& c = GetParam();
  const std::string message = ErrorOf(c.text);
  const std::string prefix = std::string(kFile) + ":" + std::to_string(c.line) + ":";
  ASSERT_EQ(message.rfind(prefix, 0), 0u) << message;
  const std::size_t column_end = message.find(": ", prefix.size());
  ASSERT_NE(column_end, std::string::npos) << message;
  const std::string column = message.substr(prefix.size(), column_end - prefix.size());
  ASSERT_FALSE(column.empty()) << message;
  EXPECT_EQ(column.find_first_not_of("0123456789"), std::string::npos) << message;
  EXPECT_GT(std::stoi(column), 0) << message;
  EXPECT_GT(message.size(), column_end + 2) << "no description: " << message;
  EXPECT_EQ(CountLines(message), 1) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Values, ConfigSyntaxTest,
    ::testing::Values(SyntaxCase{"unterminated string", "[agent]\nsocket = \"/run/x\n", 2},
                      SyntaxCase{"missing value", "[agent]\n\nsocket =\n", 3},
                      SyntaxCase{"unclosed header", "[agent\n", 1},
                      SyntaxCase{"bad character", "[agent]\nsocket = @\n", 2},
                      SyntaxCase{"duplicate key", "[agent]\nsocket = \"/a\"\nsocket = \"/b\"\n", 3},
                      SyntaxCase{"duplicate table", "[agent]\n[tokens]\n[agent]\n", 3}));

TEST(ConfigTest, SyntaxErrorNamesTheColumn) {
  // toml++ 3.3 points at the offending character: "socket = @" fails at column 10.
  const std::string message = ErrorOf("[agent]\nsocket = @\n");
  EXPECT_EQ(message.rfind(std::string(kFile) + ":2:10: ", 0), 0u) << message;
}

TEST(ConfigTest, UsesTheGivenSourceName) {
  Result<AgentConfig> config = ParseAgentConfig("[agent]\nbogus = 1\n", "other.toml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message.rfind("other.toml:2: ", 0), 0u) << config.error().message;
}

TEST(ConfigTest, ReportsAllErrorsAtOnce) {
  const std::string text = R"([agent]
socket = "relative.sock"
colour = "blue"

[upstream]
timeout_ms = 1

[tokens]
min_ttl_seconds = "60"

[audit]
file = 7

[extra]
)";
  const std::string message = ErrorOf(text);
  EXPECT_EQ(CountLines(message), 6) << message;
  for (const std::string& expected :
       {std::string(kFile) + ":2: [agent]: 'socket' must be an absolute path",
        std::string(kFile) + ":3: [agent]: unknown key 'colour'",
        std::string(kFile) + ":6: [upstream]: 'timeout_ms' must be between 100 and 300000",
        std::string(kFile) + ":9: [tokens]: 'min_ttl_seconds' must be an integer",
        std::string(kFile) + ":12: [audit]: 'file' must be a string",
        std::string(kFile) + ":14: top level: unknown key 'extra'"}) {
    EXPECT_NE(message.find(expected), std::string::npos) << expected << "\nin:\n" << message;
  }
}

TEST(ConfigTest, ErrorsAreReportedInFileOrderWithinASection) {
  const std::string message = ErrorOf("[agent]\nsocket = \"a\"\nstate_dir = \"b\"\n");
  const std::size_t socket = message.find("'socket'");
  const std::size_t state_dir = message.find("'state_dir'");
  ASSERT_NE(socket, std::string::npos) << message;
  ASSERT_NE(state_dir, std::string::npos) << message;
  EXPECT_LT(socket, state_dir) << message;
}

TEST(ConfigTest, InvalidValueKeepsNoPartialResult) {
  // A config with any error is refused as a whole, even if other keys were valid.
  Result<AgentConfig> config =
      ParseAgentConfig("[agent]\nstate_dir = \"/ok\"\n[tokens]\nmin_ttl_seconds = 99999\n", kFile);
  EXPECT_FALSE(config);
}

TEST(ConfigTest, ReadsServerTimeoutsWithinRange) {
  Result<AgentConfig> config = ParseAgentConfig(
      "[agent]\nidle_timeout_seconds = 5\nrequest_timeout_seconds = 2\n", kFile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->agent.idle_timeout_seconds, 5);
  EXPECT_EQ(config->agent.request_timeout_seconds, 2);
  EXPECT_EQ(AgentConfig{}.agent.idle_timeout_seconds, 60);
  EXPECT_EQ(AgentConfig{}.agent.request_timeout_seconds, 30);
  EXPECT_NE(ErrorOf("[agent]\nrequest_timeout_seconds = 0\n").find(":2:"), std::string::npos);
}

TEST(ConfigTest, ReadsConnectionCapsWithinRange) {
  Result<AgentConfig> config =
      ParseAgentConfig("[agent]\nmax_connections = 64\nmax_connections_per_uid = 8\n", kFile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->agent.max_connections, 64);
  EXPECT_EQ(config->agent.max_connections_per_uid, 8);
  EXPECT_EQ(AgentConfig{}.agent.max_connections, 1024);
  EXPECT_EQ(AgentConfig{}.agent.max_connections_per_uid, 256);
  EXPECT_NE(ErrorOf("[agent]\nmax_connections = 15\n").find(":2:"), std::string::npos);
  EXPECT_NE(ErrorOf("[agent]\nmax_connections_per_uid = 0\n").find(":2:"), std::string::npos);
  EXPECT_EQ(AgentConfig{}.loopback.max_connections_per_service, 128);
  Result<AgentConfig> loopback =
      ParseAgentConfig("[loopback]\nmax_connections_per_service = 7\n", kFile);
  ASSERT_TRUE(loopback) << loopback.error().message;
  EXPECT_EQ(loopback->loopback.max_connections_per_service, 7);
  EXPECT_NE(ErrorOf("[agent]\nmax_connections = 100\nmax_connections_per_uid = 200\n")
                .find("must not exceed"),
            std::string::npos);
}

TEST(ConfigTest, ReadsProxyConcurrencyCaps) {
  Result<AgentConfig> config = ParseAgentConfig(
      "[proxy]\nmax_concurrent_per_workspace = 4\nmax_concurrent_upstream = 8\n", kFile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->proxy.max_concurrent_per_workspace, 4);
  EXPECT_EQ(config->proxy.max_concurrent_upstream, 8);
  EXPECT_EQ(AgentConfig{}.proxy.max_concurrent_per_workspace, 128);
  EXPECT_EQ(AgentConfig{}.proxy.max_concurrent_upstream, 512);
  EXPECT_NE(ErrorOf("[proxy]\nmax_concurrent_upstream = 0\n").find(":2:"), std::string::npos);
  EXPECT_NE(ErrorOf("[proxy]\nmax_concurrent_per_workspace = 9\nmax_concurrent_upstream = 8\n")
                .find("must not exceed"),
            std::string::npos);
}

TEST(ConfigTest, ReadsEventLoopsWithinRange) {
  Result<AgentConfig> config = ParseAgentConfig("[agent]\nevent_loops = 3\n", kFile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->agent.event_loops, 3);
  EXPECT_EQ(AgentConfig{}.agent.event_loops, 0);  // one per CPU
  EXPECT_NE(ErrorOf("[agent]\nevent_loops = -1\n").find(":2:"), std::string::npos);
  EXPECT_NE(ErrorOf("[agent]\nevent_loops = 65\n").find(":2:"), std::string::npos);
}

// BUG: TOML's "\u0000" escape puts a NUL into a path; it passes the absolute-path check and a C
// API (bind, open) would silently use the part before it ("/run/a"). Enable when fixed.
TEST(ConfigTest, PathWithNulIsRejected) {
  const std::string message = ErrorOf("[agent]\nsocket = \"/run/a\\u0000b\"\n");
  EXPECT_NE(message.find(std::string(kFile) + ":2:"), std::string::npos) << message;
}

TEST(ConfigTest, LoopbackIsOffByDefaultAndTakesLoopbackAddressesOnly) {
  EXPECT_TRUE(AgentConfig{}.loopback.listen.empty());
  Result<AgentConfig> one = ParseAgentConfig("[loopback]\nlisten = \"127.0.0.1:8765\"\n", kFile);
  ASSERT_TRUE(one) << one.error().message;
  ASSERT_EQ(one->loopback.listen.size(), 1u);
  EXPECT_EQ(one->loopback.listen[0].address, "127.0.0.1");
  EXPECT_EQ(one->loopback.listen[0].port, 8765);
  EXPECT_FALSE(one->loopback.listen[0].ipv6);
  Result<AgentConfig> two =
      ParseAgentConfig("[loopback]\nlisten = [\"127.0.0.2:1\", \"[::1]:65535\"]\n", kFile);
  ASSERT_TRUE(two) << two.error().message;
  ASSERT_EQ(two->loopback.listen.size(), 2u);
  EXPECT_EQ(two->loopback.listen[1].HostPort(), "[::1]:65535");
  EXPECT_TRUE(two->loopback.listen[1].ipv6);
  for (const char* bad : {"0.0.0.0:8765", "10.0.0.1:8765", "localhost:8765", "[::]:8765",
                          "[::ffff:127.0.0.1]:80", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536",
                          "127.0.0.1:80x", "[::1]8765", "127.1:8765", ":8765"}) {
    const std::string message =
        ErrorOf(std::string("[loopback]\nlisten = \"") + bad + "\"\n");
    EXPECT_NE(message.find(std::string(kFile) + ":2:"), std::string::npos) << bad << ": " << message;
  }
}

}  // namespace
}  // namespace dbproxy
