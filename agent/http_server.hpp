// UnixHttpServer: HTTP/1.1 with keep-alive over a Unix socket, one coroutine per connection.
//
// Security steps, in order, for every connection: the peer is attested from the kernel before a
// byte is read (PeerAttestation), and re-attested before each request is handled. Every read has
// a deadline, headers and bodies have caps, and the number of connections is bounded.
// Threading: everything runs on the io_context's single thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "agent/asio.hpp"
#include "agent/peer.hpp"
#include "common/result.hpp"

namespace dbproxy {

using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

struct RequestContext {
  const PeerAttestation& peer;
  std::string request_id;
  std::chrono::steady_clock::time_point started;
};

// Produces the response for one request. The handler owns the request body (it may wipe it).
using HttpHandler = std::function<asio::awaitable<HttpResponse>(HttpRequest&, RequestContext&)>;
// Builds the response for a failure that happens before the handler runs (attestation, limits).
using HttpErrorResponder = std::function<HttpResponse(const Error&, const RequestContext*)>;

struct UnixHttpServerOptions {
  std::string path;
  mode_t mode = 0666;
  gid_t group = static_cast<gid_t>(-1);  // chown the socket to this group unless -1
  std::size_t max_connections = 1024;
  std::size_t header_limit = 16 * 1024;
  std::size_t body_limit = 64 * 1024;
  std::chrono::seconds idle_timeout{60};    // waiting for the next request on keep-alive
  std::chrono::seconds request_timeout{30};  // reading one request / writing one response
};

class UnixHttpServer {
 public:
  // Binds `options.path` (replacing a stale socket file) with the mode applied at bind time
  // through umask, then chmod/chown. Errors name the path and errno.
  static Result<std::unique_ptr<UnixHttpServer>> Listen(asio::io_context& io,
                                                        UnixHttpServerOptions options,
                                                        HttpHandler handler,
                                                        HttpErrorResponder on_error);
  ~UnixHttpServer();

  void Start();
  // Stops accepting and closes idle connections; in-flight requests complete, then their
  // connections close. Removes the socket file.
  void Stop();
  // Closes every connection, busy or not (after the drain timeout).
  void CloseAll();
  std::size_t active_connections() const { return sessions_.size(); }

 private:
  struct Session;
  UnixHttpServer(asio::io_context& io, UnixHttpServerOptions options, HttpHandler handler,
                 HttpErrorResponder on_error);
  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> Serve(asio::local::stream_protocol::socket socket);

  asio::io_context& io_;
  UnixHttpServerOptions options_;
  HttpHandler handler_;
  HttpErrorResponder on_error_;
  asio::local::stream_protocol::acceptor acceptor_;
  std::set<Session*> sessions_;
  bool stopping_ = false;
};

// A random 16-hex-digit request id.
std::string NewRequestId();

}  // namespace dbproxy
