#include "agent/http_server.hpp"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "common/secret_bytes.hpp"

namespace dbproxy {
namespace {

// Zeroes memory before freeing it: the read buffer may have held an enrolment secret.
template <class T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() = default;
  template <class U>
  WipingAllocator(const WipingAllocator<U>&) {}  // NOLINT: allocator rebind
  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) {
    sodium_memzero(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  template <class U>
  bool operator==(const WipingAllocator<U>&) const { return true; }
};

using Stream = beast::basic_stream<asio::local::stream_protocol, asio::any_io_executor,
                                   beast::unlimited_rate_policy>;
using ReadBuffer = beast::basic_flat_buffer<WipingAllocator<char>>;

Error LimitError(const boost::system::error_code& ec) {
  if (ec == http::error::body_limit || ec == http::error::header_limit) {
    return MakeError(Errc::kPayloadTooLarge, "request header or body is too large");
  }
  return MakeError(Errc::kInvalidRequest, "malformed HTTP request");
}

}  // namespace

struct UnixHttpServer::Session {
  Stream* stream = nullptr;
  bool busy = false;
};

std::string NewRequestId() {
  // Ids must be unique and not guessable across restarts, not secret: a random start and a
  // counter through a bijective mixer (splitmix64) — no getrandom(2) per request.
  static std::atomic<std::uint64_t> counter = [] {
    std::uint64_t seed = 0;
    randombytes_buf(&seed, sizeof seed);
    return seed;
  }();
  std::uint64_t x = counter.fetch_add(0x9e3779b97f4a7c15ULL, std::memory_order_relaxed);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  x ^= x >> 31;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(x));
  return hex;
}

UnixHttpServer::UnixHttpServer(asio::io_context& io, UnixHttpServerOptions options,
                               HttpHandler handler, HttpErrorResponder on_error)
    : io_(io),
      options_(std::move(options)),
      handler_(std::move(handler)),
      on_error_(std::move(on_error)),
      acceptor_(io) {}

UnixHttpServer::~UnixHttpServer() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

Result<std::unique_ptr<UnixHttpServer>> UnixHttpServer::Listen(asio::io_context& io,
                                                               UnixHttpServerOptions options,
                                                               HttpHandler handler,
                                                               HttpErrorResponder on_error) {
  std::unique_ptr<UnixHttpServer> server(
      new UnixHttpServer(io, std::move(options), std::move(handler), std::move(on_error)));
  const std::string& path = server->options_.path;
  auto fail = [&](const std::string& what, int error_number) {
    return MakeError(Errc::kInternal, what + " " + path + ": " + std::strerror(error_number));
  };
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return fail("refusing to replace non-socket", EEXIST);
    ::unlink(path.c_str());  // stale socket from a previous run
  }
  boost::system::error_code ec;
  server->acceptor_.open(asio::local::stream_protocol(), ec);
  if (ec) return fail("cannot create socket for", ec.value());
  // The socket gets its final mode from the moment it exists: no window with a wider mode.
  const mode_t old_mask = ::umask(~server->options_.mode & 0777);
  server->acceptor_.bind(asio::local::stream_protocol::endpoint(path), ec);
  ::umask(old_mask);
  if (ec) return fail("cannot bind", ec.value());
  if (server->options_.group != static_cast<gid_t>(-1) &&
      ::chown(path.c_str(), static_cast<uid_t>(-1), server->options_.group) != 0) {
    return fail("cannot chown", errno);
  }
  if (::chmod(path.c_str(), server->options_.mode) != 0) return fail("cannot chmod", errno);
  server->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("cannot listen on", ec.value());
  return server;
}

void UnixHttpServer::Start() { asio::co_spawn(io_, AcceptLoop(), asio::detached); }

void UnixHttpServer::Stop() {
  if (stopping_) return;
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  ::unlink(options_.path.c_str());
  for (Session* session : sessions_) {
    if (!session->busy) session->stream->socket().close(ignored);
  }
}

void UnixHttpServer::CloseAll() {
  boost::system::error_code ignored;
  for (Session* session : sessions_) session->stream->socket().close(ignored);
}

asio::awaitable<void> UnixHttpServer::AcceptLoop() {
  while (!stopping_) {
    boost::system::error_code ec;
    asio::local::stream_protocol::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      continue;  // e.g. EMFILE: keep serving the connections we have
    }
    if (sessions_.size() >= options_.max_connections) continue;  // closed on scope exit
    asio::co_spawn(io_, Serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> UnixHttpServer::Serve(asio::local::stream_protocol::socket socket) {
  // Identify the peer before reading a single byte of its request.
  Result<PeerAttestation> attested = PeerAttestation::Attest(socket.native_handle());
  if (!attested) co_return;  // the caller is gone or unknowable: nobody to answer
  PeerAttestation peer = std::move(*attested);
  Stream stream(std::move(socket));
  Session session{.stream = &stream, .busy = false};
  sessions_.insert(&session);
  ReadBuffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options_.header_limit));
    parser.body_limit(options_.body_limit);
    boost::system::error_code ec;
    stream.expires_after(options_.idle_timeout);
    co_await http::async_read_header(stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
    session.busy = !ec;
    RequestContext context{.peer = peer, .request_id = NewRequestId(),
                           .started = std::chrono::steady_clock::now()};
    HttpResponse response;
    bool keep_alive = false;
    if (!ec) {
      // Reserve the whole body at once so a secret in it is never left behind by a realloc.
      if (auto length = parser.content_length(); length && *length <= options_.body_limit) {
        parser.get().body().reserve(static_cast<std::size_t>(*length));
      }
      stream.expires_after(options_.request_timeout);
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::eof ||
        ec == asio::error::connection_reset || (ec && !session.busy && buffer.size() == 0)) {
      break;
    }
    if (ec) {
      WipeString(parser.get().body());  // a partial body may hold part of a secret
      response = on_error_(LimitError(ec), &context);
    } else if (Status fresh = peer.Refresh(); !fresh) {
      WipeString(parser.get().body());
      response = on_error_(fresh.error(), &context);
    } else {
      HttpRequest request = parser.release();
      keep_alive = request.keep_alive();
      response = co_await handler_(request, context);
      WipeString(request.body());
    }
    response.keep_alive(keep_alive && !stopping_);
    response.set("X-Request-Id", context.request_id);
    response.prepare_payload();
    stream.expires_after(options_.request_timeout);
    co_await http::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
    WipeString(response.body());  // it may have carried an access token
    session.busy = false;
    if (ec || !response.keep_alive()) break;
  }
  sessions_.erase(&session);
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::local::stream_protocol::socket::shutdown_both, ignored);
}

}  // namespace dbproxy
