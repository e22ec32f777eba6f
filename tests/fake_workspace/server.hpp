// The fake workspace's HTTPS server: accepts TLS connections on 127.0.0.1 and runs each one as a
// coroutine that reads requests (with deadlines and size limits) and answers them through
// router.hpp. HTTP/1.1 keep-alive. The io_context may be run by several threads: each session
// has its own strand and handlers run under WorkspaceState::mutex.
#pragma once

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>

#include "agent/asio.hpp"
#include "tests/fake_workspace/cert_gen.hpp"
#include "tests/fake_workspace/state.hpp"

namespace dbproxy::fake {

// A TLS 1.2+ server context presenting `identity`'s certificate and key.
// Throws std::runtime_error on failure.
asio::ssl::context MakeServerTlsContext(const TlsIdentity& identity);

class FakeWorkspaceServer {
 public:
  // Binds 127.0.0.1:`port` (0 = ephemeral). `tls` and `state` must outlive the io_context, since
  // sessions still suspended in it refer to both until it is destroyed. Throws on bind failure.
  FakeWorkspaceServer(asio::io_context& io, asio::ssl::context& tls, WorkspaceState& state,
                      unsigned short port);

  unsigned short port() const { return port_; }

  // Starts accepting connections on the io_context.
  void Start();

  // Stops accepting. Sessions in progress end when the io_context stops.
  void Stop();

 private:
  asio::ip::tcp::acceptor acceptor_;
  asio::ssl::context& tls_;
  WorkspaceState& state_;
  unsigned short port_ = 0;
};

}  // namespace dbproxy::fake
