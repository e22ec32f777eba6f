// AgentConfig: dbproxyd's settings, parsed and validated from agent.toml text.
//
// Every member has a default, so an empty file is a valid configuration for a standard install.
// Parsing is pure: the caller reads the file and passes its text and name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace dbproxy {

struct AgentSection {
  std::string socket = "/run/dbproxy/agent.sock";
  std::string admin_socket = "/run/dbproxy/admin.sock";
  // Members of this group (and root) may use the admin socket. Empty: root only.
  std::string admin_group = "dbproxy-admin";
  std::string state_dir = "/var/lib/dbproxy";
  std::string policy_dir = "/etc/dbproxy/policy.d";
  std::string key_file = "/etc/dbproxy/master.key";
};

struct UpstreamSection {
  std::string ca_file;  // empty: the system trust store
  int timeout_ms = 10000;
};

struct TokenSection {
  // Refresh a cached token when less than this is left (capped at half its lifetime).
  int refresh_ahead_seconds = 300;
  // Default floor of remaining lifetime for tokens handed to callers.
  int min_ttl_seconds = 60;
};

struct PolicySection {
  // A second policy directory evaluated beside the enforced one; its would-allow/would-deny is
  // logged and audited, never enforced. Empty: none.
  std::string shadow_dir;
  // "ed25519:<base64>" keys; when non-empty, policy_dir must carry a policy.sig by one of them.
  std::vector<std::string> trusted_keys;
  // Reload when a *.toml file (or policy.sig) in policy_dir changes (inotify).
  bool watch = true;
};

struct AuditSection {
  std::string file = "/var/log/dbproxy/audit.log";
};

struct AgentConfig {
  AgentSection agent;
  UpstreamSection upstream;
  TokenSection tokens;
  PolicySection policy;
  AuditSection audit;
};

// Parses agent.toml. Unknown sections or keys, wrong types, relative paths and out-of-range values
// are errors; all of them are reported at once, one "file:line: message" per line, in an
// Errc::kInvalidRequest error.
Result<AgentConfig> ParseAgentConfig(std::string_view text, std::string_view source_name);

}  // namespace dbproxy
