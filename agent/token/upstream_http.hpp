// Blocking HTTPS requests to Databricks workspaces through libcurl.
//
// Threading: call only from the blocking-work pool, never from the event loop. Each pool thread
// keeps one curl handle, so connections (and TLS sessions) to a workspace are reused.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/core/result.hpp"
#include "common/core/secret_bytes.hpp"

namespace dbproxy {

struct UpstreamOptions {
  std::string ca_file;  // empty: system trust store
  int timeout_ms = 10000;
  std::string user_agent = "dbproxy/" DBPROXY_VERSION;
};

struct UpstreamRequest {
  std::string method = "GET";
  std::string url;  // https only
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  // A body that is a credential (a token exchange's subject token): sent instead of `body`.
  const SecretBytes* secret_body = nullptr;
  // HTTP Basic client authentication (RFC 6749 §2.3.1); both or neither.
  const std::string* basic_user = nullptr;
  const SecretBytes* basic_password = nullptr;
};

struct UpstreamResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names; last value wins
  std::string body;
};

// Performs one request. Transport failures map to kUpstreamTimeout (timed out) or
// kUpstreamUnavailable (DNS, connect, TLS); the message never contains credentials.
// Any HTTP status is a successful Result: interpreting it is the caller's job.
Result<UpstreamResponse> PerformUpstream(const UpstreamOptions& options,
                                         const UpstreamRequest& request);

// Call once at start-up, before threads exist.
void InitUpstreamHttp();

}  // namespace dbproxy
