// A small synchronous HTTP/1.1 client over a Unix stream socket, with keep-alive.
//
// Plain POSIX sockets, Content-Length request bodies; responses may use Content-Length,
// chunked encoding or end at close. Enough to drive dbproxyd's two sockets from tests and the
// benchmark without Asio, and to read the agent's answers byte for byte.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace dbproxy::testing {

struct HttpResponse {
  int status = 0;  // 0 when the request failed at the transport level (see error)
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string error;  // transport failure, empty on success
  int sys_errno = 0;  // errno of a failed connect/send/recv (e.g. EACCES on connect)

  bool ok() const { return error.empty(); }
  // The first header with this (lower-case) name, or "".
  std::string Header(std::string_view name) const;
  // The body parsed as JSON; a discarded value when it is not JSON.
  nlohmann::json Json() const;
  // "status body" or the transport error, for assertion messages.
  std::string Describe() const;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// One connection, reused across requests (keep-alive). Reconnects when the server has closed
// an idle connection. Threading: one client per thread.
class UnixHttpClient {
 public:
  explicit UnixHttpClient(std::string socket_path,
                          std::chrono::milliseconds timeout = std::chrono::seconds(15));
  ~UnixHttpClient();
  UnixHttpClient(UnixHttpClient&& other) noexcept;
  UnixHttpClient& operator=(UnixHttpClient&&) = delete;
  UnixHttpClient(const UnixHttpClient&) = delete;
  UnixHttpClient& operator=(const UnixHttpClient&) = delete;

  // Opens the connection now (Request does it lazily). On failure the response carries the
  // error and errno.
  HttpResponse Connect();
  HttpResponse Request(std::string_view method, std::string_view target,
                       std::string_view body = {}, const HttpHeaders& headers = {});
  HttpResponse Get(std::string_view target) { return Request("GET", target); }
  HttpResponse Post(std::string_view target, std::string_view json_body) {
    return Request("POST", target, json_body, {{"Content-Type", "application/json"}});
  }
  void Close();
  bool connected() const { return fd_ >= 0; }
  // Requests sent on the current connection (1 after the first request on a new one).
  int requests_on_connection() const { return requests_on_connection_; }

 private:
  HttpResponse Exchange(const std::string& request);
  bool SendAll(std::string_view data, HttpResponse& response);
  // Reads more bytes into buffer_; false on EOF/error (recorded in response).
  bool ReadMore(HttpResponse& response);
  bool ReadHead(HttpResponse& response, bool& keep_alive);
  bool ReadBody(HttpResponse& response);
  bool ReadChunked(HttpResponse& response);

  std::string path_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  int requests_on_connection_ = 0;
  bool peer_closes_ = false;
  std::string buffer_;
};

}  // namespace dbproxy::testing
