#include "common/config.hpp"

#include <vector>

#include "common/toml_reader.hpp"

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
  reader.Finish();
  if (out.socket == out.admin_socket) {
    reader.AddError(nullptr, "'socket' and 'admin_socket' must differ");
  }
}

void ReadUpstream(const toml::table& table, std::string_view source, UpstreamSection& out,
                  std::vector<std::string>& errors) {
  TableReader reader(table, source, "[upstream]", errors);
  ReadPath(reader, "ca_file", out.ca_file, true);
  if (auto ms = reader.Int("timeout_ms", 100, 300000)) out.timeout_ms = static_cast<int>(*ms);
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
  if (const toml::node* watch = reader.Peek("watch")) {
    reader.MarkRead("watch");
    if (const auto* flag = watch->as_boolean()) {
      out.watch = flag->get();
    } else {
      reader.AddError(watch, "'watch' must be true or false");
    }
  }
  reader.Finish();
}

void ReadAudit(const toml::table& table, std::string_view source, AuditSection& out,
               std::vector<std::string>& errors) {
  TableReader reader(table, source, "[audit]", errors);
  ReadPath(reader, "file", out.file, false);
  reader.Finish();
}

}  // namespace

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
    if (const toml::table* t = reader.Table("tokens")) {
      ReadTokens(*t, source_name, config.tokens, errors);
    }
    if (const toml::table* t = reader.Table("policy")) {
      ReadPolicy(*t, source_name, config.policy, errors);
    }
    if (const toml::table* t = reader.Table("audit")) ReadAudit(*t, source_name, config.audit, errors);
    reader.Finish();
  }
  if (!errors.empty()) {
    std::string message;
    for (const std::string& line : errors) message += (message.empty() ? "" : "\n") + line;
    return MakeError(Errc::kInvalidRequest, message);
  }
  return config;
}

}  // namespace dbproxy
