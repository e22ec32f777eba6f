// Test helpers: run dbproxy-fake-workspace as a child process in a fresh temporary directory and
// talk to it over HTTPS with libcurl, verifying its certificate against the CA it wrote.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <curl/curl.h>
#include <nlohmann/json.hpp>

namespace dbproxy::fake::testing {

struct HttpResponse {
  long status = 0;    // 0 when the transfer failed
  std::string error;  // curl's message when it failed
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names

  nlohmann::json Json() const { return nlohmann::json::parse(body, nullptr, false); }
};

// Standard base64 with padding, for building Basic credentials by hand.
std::string Base64(std::string_view bytes);

class FakeWorkspaceProcess {
 public:
  // Starts the binary with "--dir <temp dir>" plus `args`, where "{dir}" in an argument is
  // replaced by the temp dir, and `clients_file` (if not empty) is written to <dir>/clients and
  // passed as --clients-file. Waits up to 10 s for <dir>/url. Throws std::runtime_error on failure.
  explicit FakeWorkspaceProcess(const std::string& clients_file,
                                const std::vector<std::string>& args = {});
  // Kills the child (SIGTERM, then SIGKILL after 2 s) and removes the temp dir.
  ~FakeWorkspaceProcess();
  FakeWorkspaceProcess(const FakeWorkspaceProcess&) = delete;
  FakeWorkspaceProcess& operator=(const FakeWorkspaceProcess&) = delete;

  const std::string& url() const { return url_; }
  const std::filesystem::path& dir() const { return dir_; }

  // Sends SIGTERM and returns the child's exit status (-1 if it did not exit normally in 2 s).
  int Terminate();

  // Fresh connections make a dropped connection visible: libcurl silently retries a request once
  // when a reused connection dies before any reply byte arrives.
  void set_fresh_connections(bool fresh) { fresh_connections_ = fresh; }

  // One HTTPS request to url() + `path` on a kept-alive connection. `headers` are "Name: value".
  HttpResponse Request(const std::string& method, const std::string& path,
                       const std::string& body = "", const std::vector<std::string>& headers = {});

  // POST /_fake/federation/policies with `policy` (fields in oauth/federation_control.hpp); the new
  // policy's id. Throws std::runtime_error with the fake's answer when it refuses the policy.
  std::string AddFederationPolicy(const nlohmann::json& policy);
  // GET /_fake/federation/stats: {"attempted", "granted", "refused", "last_refusal", "last_grant"}.
  nlohmann::json FederationStats();

  // Another kept-alive connection to the same workspace, for use from another thread.
  class Client {
   public:
    explicit Client(const FakeWorkspaceProcess& workspace);
    HttpResponse Request(const std::string& method, const std::string& path,
                         const std::string& body = "",
                         const std::vector<std::string>& headers = {});

   private:
    std::string url_;
    std::string ca_file_;
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl_{nullptr, &curl_easy_cleanup};
  };

 private:
  std::filesystem::path dir_;
  std::string url_;
  pid_t pid_ = -1;
  bool fresh_connections_ = false;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl_{nullptr, &curl_easy_cleanup};
};

}  // namespace dbproxy::fake::testing
