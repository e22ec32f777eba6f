// AgentConfig: dbproxyd's settings, parsed and validated from agent.toml text.
//
// Every member has a default, so an empty file is a valid configuration for a standard install.
// Parsing is pure: the caller reads the file and passes its text and name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/result.hpp"

namespace dbproxy {

struct AgentSection {
  std::string socket = "/run/dbproxy/agent.sock";
  std::string admin_socket = "/run/dbproxy/admin.sock";
  // Members of this group (and root) may use the admin socket. Empty: root only.
  std::string admin_group = "dbproxy-admin";
  std::string state_dir = "/var/lib/dbproxy";
  std::string policy_dir = "/etc/dbproxy/policy.d";
  std::string key_file = "/etc/dbproxy/master.key";
  // Both sockets: a keep-alive connection closes after this long without a new request.
  int idle_timeout_seconds = 60;
  // Both sockets: a request that has begun must arrive whole (head, then body) within this
  // (else 408 request_timeout), and each answer be written within it.
  int request_timeout_seconds = 30;
  // Connections each socket (agent.sock, admin.sock, each loopback listener) holds at once,
  // and those one peer uid may hold of them; excess connections are closed unread and counted
  // (dbproxy_connections_refused_total).
  int max_connections = 1024;
  int max_connections_per_uid = 256;
  // Event loops serving agent.sock and the loopback listeners, each on its own thread (the
  // admin socket is served by the first). 0: one per CPU the agent may run on, at most 8.
  int event_loops = 0;
};

struct UpstreamSection {
  std::string ca_file;  // empty: the system trust store
  int timeout_ms = 10000;          // token grants; and for proxied calls, the wait for headers
  int connect_timeout_ms = 5000;   // TCP + TLS handshake
  int max_connections_per_host = 32;  // pooled keep-alive connections to one workspace
};

struct ProxySection {
  // Proxy Databricks REST calls on the agent socket (/api/..., /w/<workspace>/api/...).
  bool enabled = true;
  // Request bodies the policy must read (SQL statements, job and cluster calls) are buffered up
  // to this size; larger ones are refused with 413. Other bodies stream unbuffered.
  std::int64_t inspect_body_limit = 1024 * 1024;
  // Cap on any proxied request body; 0: no cap.
  std::int64_t max_request_body = 0;
  // A proxied call may take this long end to end (long-polling SQL waits up to 50 s).
  int request_timeout_ms = 120000;
  // Proxied calls waiting on one workspace, and on all of them, at once; a call over either is
  // refused at once (503 upstream_unavailable, Retry-After: 1), so a hanging workspace cannot
  // hold every connection and buffer of the agent.
  int max_concurrent_per_workspace = 128;
  int max_concurrent_upstream = 512;
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

enum class AuditFsync { kAlways, kBatch, kNever };

struct AuditSection {
  // The audit file; empty: no file sink.
  std::string file = "/var/log/dbproxy/audit.log";
  // "always": fsync before the request is answered; "batch": fsync each batch of lines written
  // together (at most `batch_ms` after the line); "never": leave it to the kernel.
  AuditFsync fsync = AuditFsync::kBatch;
  int batch_ms = 50;
  // Also send each record to journald with DBPROXY_* fields.
  bool journald = true;
  // Refuse requests (503 audit_unavailable) while a sink cannot be written.
  bool fail_closed = true;
  // Put SQL statement text in the audit line; by default only its length and SHA-256.
  bool log_statements = false;
  // Records waiting for the writer; when full, requests wait (back-pressure) and then fail.
  int queue_size = 8192;
};

// One loopback TCP address to listen on: an IPv4 address in 127.0.0.0/8 or the IPv6 ::1.
struct LoopbackEndpoint {
  std::string address;  // "127.0.0.1", "::1" (as inet_pton reads it)
  int port = 0;         // 1-65535
  bool ipv6 = false;
  // As written in a URL: "127.0.0.1:8765", "[::1]:8765".
  std::string HostPort() const;
};

// Parses "127.0.0.1:8765" or "[::1]:8765". Errors (kInvalidRequest) for anything else: a name
// ("localhost"), a non-loopback address, a missing or out-of-range port.
Result<LoopbackEndpoint> ParseLoopbackEndpoint(std::string_view text);

struct LoopbackSection {
  // Where unmodified Databricks clients reach the agent over TCP (GET /metadata/token, proxy
  // mode, /healthz); each caller is still identified from the kernel. Empty: off.
  std::vector<LoopbackEndpoint> listen;
  // Connections one service (matched from the attested caller) may hold on the loopback
  // listeners at once, beside [agent] max_connections_per_uid: services of one uid told apart
  // by their unit or executable cannot take each other's share.
  int max_connections_per_service = 128;
};

// One identity provider whose JWTs callers may present ([[idp]] tables). A verified token's
// claims become policy attributes; it never replaces the kernel's identity of the caller.
struct IdpSection {
  std::string name{};                    // [a-z0-9_-]+, at most 64 bytes, unique
  std::string issuer{};                  // https URL; a token's "iss" must equal it exactly
  std::vector<std::string> audiences{};  // "audience": a string or a list; a token's aud must
                                         // contain one of them
  // https URL of the JWKS. Empty: OIDC discovery (<issuer>/.well-known/openid-configuration).
  std::string jwks_uri{};
  // CA bundle for the JWKS and discovery fetches; after parsing, "[upstream] ca_file" when
  // not set (so possibly empty: the system trust store).
  std::string ca_file{};
  std::vector<std::string> algorithms{"RS256", "ES256"};  // checked by ValidateJwtPolicy
  std::int64_t clock_skew_seconds = 60;                   // 0..600
  std::vector<std::string> claims{};  // claim names that become attributes ("groups", "email")
};

// One SAML 2.0 identity provider whose signed assertions callers may present ([[saml_idp]]
// tables). A verified assertion's Issuer, NameID and attributes become saml.* policy
// attributes; it never replaces the kernel's identity of the caller. The agent reads the
// certificate file at start-up and checks the whole with ValidateSamlPolicy.
struct SamlIdpSection {
  std::string name{};       // as [[idp]] names; unique among [[idp]] and [[saml_idp]] names
  std::string entity_id{};  // an assertion's Issuer must equal it exactly; unique, printable
  std::string certificate_file{};        // absolute path: PEM, one or more signing certificates
  std::vector<std::string> audiences{};  // "audience": a string or a list; each of an
                                         // assertion's AudienceRestrictions must name one
  std::int64_t clock_skew_seconds = 60;  // 0..600
};

// Workload identity federation: the JWTs the agent signs for its federated credentials
// (enroll --federated) and exchanges for Databricks tokens (RFC 8693).
struct FederationSection {
  // The "iss" of the agent's JWTs: what the Databricks federation policy names as issuer.
  // Empty: "https://<hostname>/dbproxy", filled in by the agent at start-up.
  std::string issuer{};
  std::string algorithm = "ES256";  // of new signing keys: "ES256" or "RS256"
  // Lifetime of one signed JWT (it is exchanged at once); 30..300.
  int assertion_lifetime_seconds = 300;
};

struct AgentConfig {
  AgentSection agent;
  LoopbackSection loopback;
  UpstreamSection upstream;
  ProxySection proxy;
  TokenSection tokens;
  PolicySection policy;
  AuditSection audit;
  std::vector<IdpSection> idps;  // in file order
  FederationSection federation;
  std::vector<SamlIdpSection> saml_idps;  // in file order
};

// Parses agent.toml. Unknown sections or keys, wrong types, relative paths and out-of-range values
// are errors; all of them are reported at once, one "file:line: message" per line, in an
// Errc::kInvalidRequest error.
Result<AgentConfig> ParseAgentConfig(std::string_view text, std::string_view source_name);

}  // namespace dbproxy
