// AgentClient: one HTTP/1.1 request to dbproxyd over a Unix socket, with libcurl.
//
// Each Send() makes a fresh connection (a CLI sends one or two requests), with a 5 s connect
// timeout and a total deadline per request. Proxies from the environment are ignored and
// redirects are not followed. The answer body is capped at kMaxAnswerSize.
//
// Ownership: the request body is not copied (libcurl reads it in place via CURLOPT_POSTFIELDS),
// so it may live in guarded memory (SecretBytes) and must stay valid during Send().
// Threading: an AgentClient is immutable; Send() may run concurrently from several threads.
// REQUIRES: curl_global_init() has run.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <span>
#include <string>

#include "common/core/result.hpp"

namespace dbproxy::cli {

inline constexpr std::size_t kMaxAnswerSize = 1024 * 1024;

struct AgentRequest {
  std::string method = "GET";  // GET, POST, PUT, DELETE
  std::string target{};        // path and query, already percent-encoded: "/v1/status"
  std::span<const unsigned char> body{};  // not owned; sent only for non-GET methods
  std::string content_type{};             // empty: no Content-Type header
  std::chrono::milliseconds timeout{30'000};
};

struct AgentResponse {
  long status = 0;  // NOLINT(google-runtime-int): libcurl's type for the response code
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names, values trimmed
};

class AgentClient {
 public:
  explicit AgentClient(std::string socket_path);

  // Sends `request` and returns whatever HTTP answer arrived, whatever its status. Errors:
  //   Errc::kUpstreamUnavailable  socket missing, refused, not permitted, or connect timed out;
  //                               message "cannot reach dbproxyd at <path>: <reason>"
  //   Errc::kUpstreamTimeout      connected, but no complete answer before the deadline
  //   Errc::kPayloadTooLarge      the answer body exceeds kMaxAnswerSize
  //   Errc::kInternal             any other transport failure
  Result<AgentResponse> Send(const AgentRequest& request) const;

  const std::string& socket_path() const { return socket_path_; }

 private:
  std::string socket_path_;
};

}  // namespace dbproxy::cli
