// AuditRecord: one line of the audit trail, and its JSON encoding.
//
// Never holds a token, secret or Authorization header: the fields are identity, intent and
// outcome only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dbproxy {

struct AuditRecord {
  std::int64_t time_us = 0;  // unix microseconds
  std::string request_id;
  std::string socket;  // "agent" or "admin"
  std::int64_t pid = 0;
  std::int64_t uid = -1;
  std::int64_t gid = -1;
  std::string user;
  std::string exe;
  std::string unit;
  std::string service;
  // The caller's verified identity-provider token ([[idp]] name, iss, sub): on whose behalf the
  // call runs. Empty when it presented none. jwt_error: why a presented token was refused.
  std::string jwt_idp;
  std::string jwt_iss;
  std::string jwt_sub;
  std::string jwt_error;
  // The caller's verified SAML assertion ([[saml_idp]] name, Issuer, NameID); empty when it
  // presented none. saml_error: why a presented assertion was refused.
  std::string saml_idp;
  std::string saml_issuer;
  std::string saml_name_id;
  std::string saml_error;
  std::string action;  // "token:all-apis", "admin.enroll", "whoami", ...
  std::string method;
  std::string path;   // without the query string
  std::string query;  // raw query string (no '?'); FormatAuditRecord drops sensitive values
  // The service attributes and request facts that decided ("service.env" -> "production",
  // "request.row_limit" -> "500"), in the order they were recorded.
  std::vector<std::pair<std::string, std::string>> attributes;
  // Admin changes: what was changed ("role" -> "etl", "service" -> "billing"); never a secret.
  std::vector<std::pair<std::string, std::string>> detail;
  std::string workspace;
  std::string credential;
  std::string decision;  // "allow", "deny" or "error"
  std::string rule;
  std::string shadow_decision;  // "allow"/"deny" under the shadow policy; empty when none
  std::string shadow_rule;
  std::string error_code;  // wire code when the request failed
  int status = 0;
  int upstream_status = 0;              // proxied calls: the workspace's HTTP status; 0: none
  std::string databricks_request_id;    // proxied calls: X-Request-Id / x-databricks-request-id
  std::int64_t upstream_latency_us = 0;  // proxied calls: time waiting for the workspace
  std::int64_t bytes_in = 0;             // request body bytes from the caller
  std::int64_t bytes_out = 0;            // response body bytes to the caller
  // SQL statements: length and SHA-256 (hex) of the statement text; the text itself only when
  // [audit] log_statements is on.
  std::int64_t statement_bytes = -1;  // -1: not a SQL statement call
  std::string statement_sha256;
  std::string statement;
  std::int64_t latency_us = 0;
};

struct AuditFormatOptions {
  bool log_statements = false;  // [audit] log_statements: keep `statement`
};

// A single JSON object, no trailing newline. Time is RFC 3339 UTC with microseconds.
// Optional members appear only when set: jwt_idp/iss/sub, jwt_error, saml_idp/issuer/name_id,
// saml_error, attributes, detail, query, shadow_decision/rule, error, upstream_status,
// databricks_request_id, upstream_latency_us, statement_bytes/statement_sha256 (and statement
// with options.log_statements). The query keeps every key but replaces the value of sensitive
// ones (token, secret, password, code, ... see RedactQuery); path, query, detail, attribute
// values and the jwt/saml errors pass through RedactSecrets.
std::string FormatAuditRecord(const AuditRecord& record, const AuditFormatOptions& options = {});

// "a=1&access_token=xyz" -> "a=1&access_token=[REDACTED]": values of keys that name a secret
// (compared case-insensitively, after percent-decoding) are replaced; everything else is kept
// as it came, then RedactSecrets runs over the result.
std::string RedactQuery(std::string_view query);

// "2026-11-29T01:53:17.123456Z".
std::string FormatRfc3339Micros(std::int64_t time_us);

}  // namespace dbproxy
