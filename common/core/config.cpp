#include "common/core/config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <vector>

#include "common/core/json_fields.hpp"
#include "common/core/toml_reader.hpp"
#include "common/identity/jwt.hpp"
#include "common/identity/saml.hpp"

namespace dbproxy {
namespace {

void ReadPath(TableReader& reader, std::string_view key, std::string& out, bool allow_empty) {
  std::optional<std::string> value = reader.String(key);
  if (!value) return;
  if (value->empty() && allow_empty) {
    out.clear();
    return;
  }
  if (value->empty() || value->front() != '/') {
    reader.AddError(reader.Peek(key), "'" + std::string(key) + "' must be an absolute path");
    return;
  }
  out = *value;
}

void ReadAgent(const toml::table& table, std::string_view source, AgentSection& out,
               std::vector<std::string>& errors) {
  TableReader reader(table, source, "[agent]", errors);
  ReadPath(reader, "socket", out.socket, false);
  ReadPath(reader, "admin_socket", out.admin_socket, false);
  if (auto group = reader.String("admin_group")) out.admin_group = *group;
  ReadPath(reader, "state_dir", out.state_dir, false);
  ReadPath(reader, "policy_dir", out.policy_dir, false);
  ReadPath(reader, "key_file", out.key_file, false);
  if (auto seconds = reader.Int("idle_timeout_seconds", 1, 3600)) {
    out.idle_timeout_seconds = static_cast<int>(*seconds);
  }
  if (auto seconds = reader.Int("request_timeout_seconds", 1, 3600)) {
    out.request_timeout_seconds = static_cast<int>(*seconds);
  }
  if (auto loops = reader.Int("event_loops", 0, 64)) out.event_loops = static_cast<int>(*loops);
  if (auto n = reader.Int("max_connections", 16, 65536)) out.max_connections = static_cast<int>(*n);
  if (auto n = reader.Int("max_connections_per_uid", 1, 65536)) {
    out.max_connections_per_uid = static_cast<int>(*n);
  }
  reader.Finish();
  if (out.max_connections_per_uid > out.max_connections) {
    reader.AddError(nullptr, "'max_connections_per_uid' must not exceed 'max_connections'");
  }
  if (out.socket == out.admin_socket) {
    reader.AddError(nullptr, "'socket' and 'admin_socket' must differ");
  }
}

void ReadUpstream(const toml::table& table, std::string_view source, UpstreamSection& out,
                  std::vector<std::string>& errors) {
  TableReader reader(table, source, "[upstream]", errors);
  ReadPath(reader, "ca_file", out.ca_file, true);
  if (auto ms = reader.Int("timeout_ms", 100, 300000)) out.timeout_ms = static_cast<int>(*ms);
  if (auto ms = reader.Int("connect_timeout_ms", 100, 60000)) {
    out.connect_timeout_ms = static_cast<int>(*ms);
  }
  if (auto n = reader.Int("max_connections_per_host", 1, 1024)) {
    out.max_connections_per_host = static_cast<int>(*n);
  }
  reader.Finish();
}

std::optional<bool> ReadBool(TableReader& reader, std::string_view key) {
  const toml::node* node = reader.Peek(key);
  if (node == nullptr) return std::nullopt;
  reader.MarkRead(key);
  if (const auto* flag = node->as_boolean()) return flag->get();
  reader.AddError(node, "'" + std::string(key) + "' must be true or false");
  return std::nullopt;
}

void ReadProxy(const toml::table& table, std::string_view source, ProxySection& out,
               std::vector<std::string>& errors) {
  TableReader reader(table, source, "[proxy]", errors);
  if (auto enabled = ReadBool(reader, "enabled")) out.enabled = *enabled;
  if (auto n = reader.Int("inspect_body_limit", 1024, 64 * 1024 * 1024)) out.inspect_body_limit = *n;
  if (auto n = reader.Int("max_request_body", 0, std::int64_t{1} << 40)) out.max_request_body = *n;
  if (auto ms = reader.Int("request_timeout_ms", 1000, 3600000)) {
    out.request_timeout_ms = static_cast<int>(*ms);
  }
  if (auto n = reader.Int("max_concurrent_per_workspace", 1, 65536)) {
    out.max_concurrent_per_workspace = static_cast<int>(*n);
  }
  if (auto n = reader.Int("max_concurrent_upstream", 1, 65536)) {
    out.max_concurrent_upstream = static_cast<int>(*n);
  }
  reader.Finish();
  if (out.max_concurrent_per_workspace > out.max_concurrent_upstream) {
    reader.AddError(nullptr,
                    "'max_concurrent_per_workspace' must not exceed 'max_concurrent_upstream'");
  }
}

void ReadLoopback(const toml::table& table, std::string_view source, LoopbackSection& out,
                  std::vector<std::string>& errors) {
  TableReader reader(table, source, "[loopback]", errors);
  std::vector<std::string> addresses;
  if (const toml::node* node = reader.Peek("listen"); node != nullptr && node->is_string()) {
    if (auto one = reader.String("listen")) addresses.push_back(*one);
  } else if (auto many = reader.StringArray("listen")) {
    addresses = *many;
  }
  for (const std::string& text : addresses) {
    Result<LoopbackEndpoint> endpoint = ParseLoopbackEndpoint(text);
    if (!endpoint) {
      reader.AddError(reader.Peek("listen"), endpoint.error().message);
      continue;
    }
    out.listen.push_back(std::move(*endpoint));
  }
  if (auto n = reader.Int("max_connections_per_service", 1, 65536)) {
    out.max_connections_per_service = static_cast<int>(*n);
  }
  reader.Finish();
}

void ReadTokens(const toml::table& table, std::string_view source, TokenSection& out,
                std::vector<std::string>& errors) {
  TableReader reader(table, source, "[tokens]", errors);
  if (auto s = reader.Int("refresh_ahead_seconds", 0, 3000)) {
    out.refresh_ahead_seconds = static_cast<int>(*s);
  }
  if (auto s = reader.Int("min_ttl_seconds", 0, 3000)) out.min_ttl_seconds = static_cast<int>(*s);
  reader.Finish();
}

void ReadFederation(const toml::table& table, std::string_view source, FederationSection& out,
                    std::vector<std::string>& errors) {
  TableReader reader(table, source, "[federation]", errors);
  if (std::optional<std::string> issuer = reader.String("issuer"); issuer && !issuer->empty()) {
    if (!issuer->starts_with("https://") || issuer->size() <= 8 || issuer->size() > 2048 ||
        issuer->find_first_of(" \t\r\n\"") != std::string::npos) {
      reader.AddError(reader.Peek("issuer"), "'issuer' must be an https:// URL");
    } else {
      out.issuer = *issuer;
    }
  }
  if (std::optional<std::string> algorithm = reader.String("algorithm")) {
    if (*algorithm != "ES256" && *algorithm != "RS256") {
      reader.AddError(reader.Peek("algorithm"), "'algorithm' must be \"ES256\" or \"RS256\"");
    } else {
      out.algorithm = *algorithm;
    }
  }
  if (auto s = reader.Int("assertion_lifetime_seconds", 30, 300)) {
    out.assertion_lifetime_seconds = static_cast<int>(*s);
  }
  reader.Finish();
}

void ReadPolicy(const toml::table& table, std::string_view source, PolicySection& out,
                std::vector<std::string>& errors) {
  TableReader reader(table, source, "[policy]", errors);
  ReadPath(reader, "shadow_dir", out.shadow_dir, true);
  if (auto keys = reader.StringArray("trusted_keys")) {
    for (const std::string& key : *keys) {
      if (!key.starts_with("ed25519:")) {
        reader.AddError(reader.Peek("trusted_keys"), "trusted keys look like \"ed25519:<base64>\"");
      }
    }
    out.trusted_keys = *keys;
  }
  if (auto watch = ReadBool(reader, "watch")) out.watch = *watch;
  reader.Finish();
}

void ReadAudit(const toml::table& table, std::string_view source, AuditSection& out,
               std::vector<std::string>& errors) {
  TableReader reader(table, source, "[audit]", errors);
  ReadPath(reader, "file", out.file, true);
  if (const toml::node* node = reader.Peek("fsync")) {
    std::optional<std::string> mode = reader.String("fsync");
    if (mode == "always") {
      out.fsync = AuditFsync::kAlways;
    } else if (mode == "batch") {
      out.fsync = AuditFsync::kBatch;
    } else if (mode == "never") {
      out.fsync = AuditFsync::kNever;
    } else if (mode) {
      reader.AddError(node, "'fsync' must be \"always\", \"batch\" or \"never\"");
    }
  }
  if (auto ms = reader.Int("batch_ms", 1, 10000)) out.batch_ms = static_cast<int>(*ms);
  if (auto journald = ReadBool(reader, "journald")) out.journald = *journald;
  if (auto fail_closed = ReadBool(reader, "fail_closed")) out.fail_closed = *fail_closed;
  if (auto statements = ReadBool(reader, "log_statements")) out.log_statements = *statements;
  if (auto n = reader.Int("queue_size", 16, 1 << 20)) out.queue_size = static_cast<int>(*n);
  reader.Finish();
}

bool IsIdpName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// "https://host..." with only printable, non-space ASCII and no fragment. An issuer is compared
// with "iss" byte for byte, so it must not carry a query either (OpenID Connect Discovery 1.0
// section 3).
bool IsHttpsUrl(std::string_view url, bool allow_query) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme) || url.size() == kScheme.size() || url.size() > 1024) return false;
  if (url[kScheme.size()] == '/') return false;  // no host
  for (const char c : url) {
    if (c <= ' ' || c > '~' || c == '#' || (c == '?' && !allow_query)) return false;
  }
  return true;
}

void ReadUrl(TableReader& reader, std::string_view key, bool required, bool allow_query,
             std::string& out) {
  std::optional<std::string> value = reader.String(key, required);
  if (!value) return;
  if (!IsHttpsUrl(*value, allow_query)) {
    reader.AddError(reader.Peek(key), "'" + std::string(key) + "' must be an https:// URL" +
                                          (allow_query ? "" : " without query or fragment"));
    return;
  }
  out = *value;
}

// "audience": one string or a list of them; required, none empty.
void ReadAudiences(TableReader& reader, std::vector<std::string>& out) {
  std::optional<std::vector<std::string>> audiences;
  if (const toml::node* node = reader.Peek("audience"); node != nullptr && node->is_string()) {
    if (auto one = reader.String("audience")) audiences = std::vector<std::string>{*one};
  } else {
    audiences = reader.StringArray("audience", true);
  }
  if (audiences) {
    const bool blank = audiences->empty() ||
                       std::find(audiences->begin(), audiences->end(), "") != audiences->end();
    if (blank) {
      reader.AddError(reader.Peek("audience"), "'audience' must name non-empty audiences");
    } else {
      out = std::move(*audiences);
    }
  }
}

// Names and issuers of the [[idp]] tables read so far: both must be unique, since a token's
// issuer selects the idp.
struct IdpsSeen {
  std::set<std::string> names;
  std::set<std::string> issuers;
};

void ReadIdp(const toml::table& table, std::string_view source, IdpsSeen& seen, IdpSection& out,
             std::vector<std::string>& errors) {
  TableReader reader(table, source, "[[idp]]", errors);
  if (std::optional<std::string> name = reader.String("name", true)) {
    if (!IsIdpName(*name)) {
      reader.AddError(reader.Peek("name"),
                      "'name' must be 1 to 64 characters of a-z, 0-9, '_' and '-'");
    } else if (!seen.names.insert(*name).second) {
      reader.AddError(reader.Peek("name"), "idp '" + *name + "' is defined twice");
    } else {
      out.name = *name;
      reader.set_context("[[idp]] '" + *name + "'");
    }
  }
  ReadUrl(reader, "issuer", true, false, out.issuer);
  if (!out.issuer.empty() && !seen.issuers.insert(out.issuer).second) {
    reader.AddError(reader.Peek("issuer"), "another [[idp]] has the same issuer");
  }
  ReadAudiences(reader, out.audiences);
  ReadUrl(reader, "jwks_uri", false, true, out.jwks_uri);
  ReadPath(reader, "ca_file", out.ca_file, true);  // empty: [upstream] ca_file
  if (auto algorithms = reader.StringArray("algorithms")) out.algorithms = *algorithms;
  if (auto skew = reader.Int("clock_skew_seconds", 0, kMaxClockSkewSeconds)) {
    out.clock_skew_seconds = *skew;
  }
  if (auto claims = reader.StringArray("claims")) {
    for (const std::string& claim : *claims) {
      if (claim.empty()) reader.AddError(reader.Peek("claims"), "a claim name is empty");
    }
    out.claims = *claims;
  }
  reader.Finish();
  // The checks VerifyJwt relies on (algorithms above all: none and HS* are never accepted).
  // Issuer and audience were checked above; stand-ins keep their errors from hiding these.
  const JwtPolicy policy{
      .issuer = out.issuer.empty() ? "https://issuer.invalid" : out.issuer,
      .audiences = out.audiences.empty() ? std::vector<std::string>{"audience"} : out.audiences,
      .algorithms = out.algorithms,
      .clock_skew_seconds = out.clock_skew_seconds};
  if (Status valid = ValidateJwtPolicy(policy); !valid) {
    reader.AddError(reader.Peek("algorithms"), valid.error().message);
  }
}

void ReadIdps(TableReader& root, std::string_view source, std::vector<IdpSection>& out,
              std::vector<std::string>& errors) {
  const toml::node* node = root.Peek("idp");
  root.MarkRead("idp");
  if (node == nullptr) return;
  const toml::array* array = node->as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    root.AddError(node, "'idp' must be written as [[idp]] tables");
    return;
  }
  IdpsSeen seen;
  for (const toml::node& element : *array) {
    IdpSection idp;
    ReadIdp(*element.as_table(), source, seen, idp, errors);
    out.push_back(std::move(idp));
  }
}

// Names and entity IDs of the [[saml_idp]] tables read so far. Names are also unique against
// the [[idp]] names (one namespace for the audit's idp fields); an entity ID names one provider.
struct SamlIdpsSeen {
  std::set<std::string> names;
  std::set<std::string> entity_ids;
};

void ReadSamlIdp(const toml::table& table, std::string_view source, SamlIdpsSeen& seen,
                 SamlIdpSection& out, std::vector<std::string>& errors) {
  TableReader reader(table, source, "[[saml_idp]]", errors);
  if (std::optional<std::string> name = reader.String("name", true)) {
    if (!IsIdpName(*name)) {
      reader.AddError(reader.Peek("name"),
                      "'name' must be 1 to 64 characters of a-z, 0-9, '_' and '-'");
    } else if (!seen.names.insert(*name).second) {
      reader.AddError(reader.Peek("name"), "idp '" + *name + "' is defined twice ([[idp]] and " +
                                               "[[saml_idp]] names share one namespace)");
    } else {
      out.name = *name;
      reader.set_context("[[saml_idp]] '" + *name + "'");
    }
  }
  if (std::optional<std::string> entity_id = reader.String("entity_id", true)) {
    constexpr std::size_t kMaxEntityId = 1024;  // as ValidateSamlPolicy
    if (entity_id->empty() || entity_id->size() > kMaxEntityId || !IsPrintableText(*entity_id)) {
      reader.AddError(reader.Peek("entity_id"),
                      "'entity_id' must be non-empty printable text of at most 1024 bytes");
    } else if (!seen.entity_ids.insert(*entity_id).second) {
      reader.AddError(reader.Peek("entity_id"), "another [[saml_idp]] has the same entity_id");
    } else {
      out.entity_id = *entity_id;
    }
  }
  if (std::optional<std::string> file = reader.String("certificate_file", true)) {
    if (file->empty() || file->front() != '/') {
      reader.AddError(reader.Peek("certificate_file"),
                      "'certificate_file' must be an absolute path");
    } else {
      out.certificate_file = *file;
    }
  }
  ReadAudiences(reader, out.audiences);
  if (auto skew = reader.Int("clock_skew_seconds", 0, kMaxSamlClockSkewSeconds)) {
    out.clock_skew_seconds = *skew;
  }
  reader.Finish();
}

void ReadSamlIdps(TableReader& root, std::string_view source, const std::vector<IdpSection>& idps,
                  std::vector<SamlIdpSection>& out, std::vector<std::string>& errors) {
  const toml::node* node = root.Peek("saml_idp");
  root.MarkRead("saml_idp");
  if (node == nullptr) return;
  const toml::array* array = node->as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    root.AddError(node, "'saml_idp' must be written as [[saml_idp]] tables");
    return;
  }
  SamlIdpsSeen seen;
  for (const IdpSection& idp : idps) seen.names.insert(idp.name);
  for (const toml::node& element : *array) {
    SamlIdpSection saml_idp;
    ReadSamlIdp(*element.as_table(), source, seen, saml_idp, errors);
    out.push_back(std::move(saml_idp));
  }
}

}  // namespace

std::string LoopbackEndpoint::HostPort() const {
  return (ipv6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

Result<LoopbackEndpoint> ParseLoopbackEndpoint(std::string_view text) {
  const auto refuse = [&](std::string why) {
    return MakeError(Errc::kInvalidRequest,
                     "loopback address '" + std::string(text) + "' " + std::move(why) +
                         " (give \"127.0.0.1:PORT\" or \"[::1]:PORT\")");
  };
  LoopbackEndpoint out;
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return refuse("is not [IPv6]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    out.ipv6 = true;
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return refuse("has no port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  const std::string host_text(host);
  if (out.ipv6) {
    in6_addr address{};
    if (::inet_pton(AF_INET6, host_text.c_str(), &address) != 1) return refuse("is not an address");
    if (!IN6_IS_ADDR_LOOPBACK(&address)) return refuse("is not the loopback address ::1");
    out.address = "::1";
  } else {
    in_addr address{};
    if (::inet_pton(AF_INET, host_text.c_str(), &address) != 1) {
      return refuse("is not an IP address (names such as localhost are not resolved)");
    }
    if ((ntohl(address.s_addr) >> 24) != 127) return refuse("is not in 127.0.0.0/8");
    out.address = host_text;
  }
  int number = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (ec != std::errc() || end != port.data() + port.size() || number < 1 || number > 65535) {
    return refuse("needs a port from 1 to 65535");
  }
  out.port = number;
  return out;
}

Result<AgentConfig> ParseAgentConfig(std::string_view text, std::string_view source_name) {
  std::vector<std::string> errors;
  std::optional<toml::table> root = ParseToml(text, source_name, errors);
  AgentConfig config;
  if (root) {
    TableReader reader(*root, source_name, "top level", errors);
    if (const toml::table* t = reader.Table("agent")) ReadAgent(*t, source_name, config.agent, errors);
    if (const toml::table* t = reader.Table("upstream")) {
      ReadUpstream(*t, source_name, config.upstream, errors);
    }
    if (const toml::table* t = reader.Table("proxy")) ReadProxy(*t, source_name, config.proxy, errors);
    if (const toml::table* t = reader.Table("loopback")) {
      ReadLoopback(*t, source_name, config.loopback, errors);
    }
    if (const toml::table* t = reader.Table("tokens")) {
      ReadTokens(*t, source_name, config.tokens, errors);
    }
    if (const toml::table* t = reader.Table("policy")) {
      ReadPolicy(*t, source_name, config.policy, errors);
    }
    if (const toml::table* t = reader.Table("audit")) ReadAudit(*t, source_name, config.audit, errors);
    ReadIdps(reader, source_name, config.idps, errors);
    ReadSamlIdps(reader, source_name, config.idps, config.saml_idps, errors);
    if (const toml::table* t = reader.Table("federation")) {
      ReadFederation(*t, source_name, config.federation, errors);
    }
    reader.Finish();
  }
  for (IdpSection& idp : config.idps) {
    if (idp.ca_file.empty()) idp.ca_file = config.upstream.ca_file;
  }
  if (!errors.empty()) {
    std::string message;
    for (const std::string& line : errors) message += (message.empty() ? "" : "\n") + line;
    return MakeError(Errc::kInvalidRequest, message);
  }
  return config;
}

}  // namespace dbproxy
