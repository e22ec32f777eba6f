// FakeWorkspace: a running dbproxy-fake-workspace (HTTPS on 127.0.0.1 with its own CA) and
// the unauthenticated control side-channel (/_fake/...) the tests steer it with.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/harness/process.hpp"
#include "tests/integration/harness/unix_http_client.hpp"
#include "tests/integration/harness/util.hpp"

namespace dbproxy::testing {

struct FakeClient {
  std::string client_id;
  std::string client_secret;
  std::vector<std::string> scopes;  // empty: the fake's default
};

struct FakeWorkspaceOptions {
  std::string binary;              // default: DBPROXY_FAKE_WORKSPACE_BIN
  int token_lifetime_seconds = 0;  // 0: the fake's default
  std::vector<FakeClient> clients;  // written to a --clients-file
  int threads = 0;                  // --threads; 0: the fake's default (one)
};

// One HTTPS call made with libcurl; returns status 0 and an error on transport failure.
// `bearer` adds "Authorization: Bearer <bearer>" when not empty. Trusts only `ca_file`.
// A non-empty body is sent with `content_type`.
HttpResponse HttpsCall(const std::string& method, const std::string& url,
                       const std::filesystem::path& ca_file, const std::string& body = "",
                       const std::string& bearer = "",
                       const std::string& content_type = "application/json");

// Threading: the control calls are thread-safe (one libcurl easy handle per call).
class FakeWorkspace {
 public:
  // Starts the fake in `dir` (which it owns for ca.pem/url/logs) and waits until it has
  // written DIR/url. Throws std::runtime_error with its stderr when it does not start.
  FakeWorkspace(const std::filesystem::path& dir, FakeWorkspaceOptions options = {});

  const std::string& url() const { return url_; }
  std::filesystem::path ca_file() const { return dir_ / "ca.pem"; }
  Process& process() { return *process_; }

  // Calls a path on the workspace (e.g. "/api/2.0/preview/scim/v2/Me") with a token.
  HttpResponse CallApi(const std::string& path, const std::string& bearer) const;
  // Raw control calls (e.g. Control("POST", "/_fake/faults", R"({...})")).
  HttpResponse Control(const std::string& method, const std::string& path,
                       const std::string& body = "") const;

  HarnessStatus AddClient(const FakeClient& client) const;
  // A client-credentials grant straight from the token endpoint (form fields), as a reverse proxy
  // configured with a fixed token would use. client_id/secret/scope must be URL-safe.
  HttpResponse TokenGrant(const std::string& client_id, const std::string& client_secret,
                          const std::string& scope = "all-apis") const;
  HarnessStatus SetTokenLifetime(int seconds) const;
  // fault: {"target":"token"|"api","count","status","retry_after"?,"latency_ms"?,"drop"?}
  HarnessStatus InjectFault(const nlohmann::json& fault) const;
  // GET /_fake/counters; a discarded json on failure.
  nlohmann::json Counters() const;
  // token_grants[client_id] from the counters (0 when absent, -1 when unreadable).
  int Grants(const std::string& client_id) const;
  int TokenRequests() const;

 private:
  std::filesystem::path dir_;
  std::string url_;
  std::unique_ptr<Process> process_;
};

}  // namespace dbproxy::testing
