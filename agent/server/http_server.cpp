#include "agent/server/http_server.hpp"

#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>

#include "agent/blocking.hpp"
#include "agent/log.hpp"
#include "agent/server/request_reads.hpp"
#include "common/core/secret_bytes.hpp"
#include "common/os/unique_fd.hpp"

namespace dbproxy {
namespace {

// Logs a refused connection: the first at once, then at most one line per cause and socket
// every 10 s with the number refused meanwhile (a flood must not flood the journal too).
void NoteRefusal(const std::string& socket, const std::string& cap, std::int64_t uid) {
  using Clock = std::chrono::steady_clock;
  struct Pending {
    Clock::time_point last{};
    std::uint64_t suppressed = 0;
  };
  static std::mutex mutex;
  static std::map<std::pair<std::string, std::string>, Pending> pending;
  std::uint64_t suppressed = 0;
  {
    std::lock_guard lock(mutex);
    Pending& entry = pending[{socket, cap}];
    const Clock::time_point now = Clock::now();
    if (entry.last != Clock::time_point{} && now - entry.last < std::chrono::seconds(10)) {
      ++entry.suppressed;
      return;
    }
    entry.last = now;
    suppressed = entry.suppressed;
    entry.suppressed = 0;
  }
  Log(LogLevel::kWarning,
      "connection refused on " + socket + ": " + cap + " reached" +
          (uid >= 0 ? " (uid " + std::to_string(uid) + ")" : std::string()) +
          (suppressed > 0 ? "; " + std::to_string(suppressed) + " more since the last report"
                          : std::string()));
}

// The peer closed or the server is closing the connection: nobody to answer.
bool ConnectionGone(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == beast::error::timeout ||
         ec == asio::error::operation_aborted || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::bad_descriptor ||
         ec == asio::error::broken_pipe;
}

// The answer to a request that began but could not be read whole.
Error ReadError(const boost::system::error_code& ec) {
  if (ec == http::error::body_limit || ec == http::error::header_limit) {
    return MakeError(Errc::kPayloadTooLarge, "request header or body is too large");
  }
  if (ec == asio::error::timed_out) {
    return MakeError(Errc::kRequestTimeout, "the request did not arrive in time");
  }
  return MakeError(Errc::kInvalidRequest, "malformed HTTP request");
}

// Writes `response`: at once when the socket takes all of it (the usual small answer; the socket
// is in non-blocking mode, see Serve), which spares the round through the event loop an
// asynchronous write costs even when it completes at once; what the socket did not take is
// written asynchronously.
asio::awaitable<boost::system::error_code> WriteResponse(HttpStream& stream,
                                                         HttpResponse& response) {
  http::response_serializer<http::string_body> serializer(response);
  boost::system::error_code ec;
  http::write(stream.socket(), serializer, ec);
  if (!ec && serializer.is_done()) co_return ec;
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) co_return ec;
  ec = {};
  co_await http::async_write(stream, serializer, asio::redirect_error(asio::use_awaitable, ec));
  co_return ec;
}

}  // namespace

bool IsLoopbackHost(std::string_view host) {
  std::string_view name = host;
  if (name.starts_with('[')) {
    const std::size_t close = name.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view rest = name.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return false;
    name = name.substr(1, close - 1);
    return name == "::1";
  }
  if (const std::size_t colon = name.rfind(':'); colon != std::string_view::npos) {
    name = name.substr(0, colon);
  }
  if (name == "localhost") return true;
  boost::system::error_code ec;
  const asio::ip::address_v4 v4 = asio::ip::make_address_v4(std::string(name), ec);
  return !ec && (v4.to_uint() >> 24) == 127;
}

struct HttpServer::Session {
  HttpStream* stream = nullptr;
  bool busy = false;
  ConnectionDeadline deadline;
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

HttpServer::HttpServer(asio::io_context& io, HttpServerOptions options,
                               HttpHandler handler, HttpErrorResponder on_error)
    : io_(io),
      options_(std::move(options)),
      handler_(std::move(handler)),
      on_error_(std::move(on_error)),
      acceptor_(io),
      sweep_timer_(io) {
  // A deadline acts at most a tick late: a quarter of the shortest timeout, at most 1 s.
  const auto shortest = std::min(options_.idle_timeout, options_.request_timeout);
  sweep_tick_ = std::clamp<std::chrono::milliseconds>(
      std::chrono::duration_cast<std::chrono::milliseconds>(shortest) / 4,
      std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
}

HttpServer::~HttpServer() {
  *alive_ = false;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  sweep_timer_.cancel();
}

Result<std::unique_ptr<HttpServer>> HttpServer::Listen(asio::io_context& io,
                                                               HttpServerOptions options,
                                                               HttpHandler handler,
                                                               HttpErrorResponder on_error) {
  std::unique_ptr<HttpServer> server(
      new HttpServer(io, std::move(options), std::move(handler), std::move(on_error)));
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
  server->acceptor_.open(asio::generic::stream_protocol(AF_UNIX, 0), ec);
  if (ec) return fail("cannot create socket for", ec.value());
  // The socket gets its final mode from the moment it exists: no window with a wider mode.
  const mode_t old_mask = ::umask(~server->options_.mode & 0777);
  server->acceptor_.bind(asio::generic::stream_protocol::endpoint(
                             asio::local::stream_protocol::endpoint(path)),
                         ec);
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

Result<std::unique_ptr<HttpServer>> HttpServer::Adopt(asio::io_context& io,
                                                              HttpServerOptions options,
                                                              int listening_fd,
                                                              HttpHandler handler,
                                                              HttpErrorResponder on_error) {
  std::unique_ptr<HttpServer> server(
      new HttpServer(io, std::move(options), std::move(handler), std::move(on_error)));
  server->owns_path_ = false;
  boost::system::error_code ec;
  server->acceptor_.assign(asio::generic::stream_protocol(AF_UNIX, 0), listening_fd, ec);
  if (ec) {
    ::close(listening_fd);
    return MakeError(Errc::kInternal, "cannot adopt the socket for " + server->options_.path +
                                          ": " + ec.message());
  }
  return server;
}

Result<std::unique_ptr<HttpServer>> HttpServer::ListenTcp(asio::io_context& io,
                                                          HttpServerOptions options,
                                                          const std::string& address, int port,
                                                          HttpHandler handler,
                                                          HttpErrorResponder on_error) {
  std::unique_ptr<HttpServer> server(
      new HttpServer(io, std::move(options), std::move(handler), std::move(on_error)));
  server->owns_path_ = false;
  const std::string where = server->options_.path;
  boost::system::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(address, ec);
  if (ec) return MakeError(Errc::kInvalidRequest, "not an IP address: " + address);
  const asio::ip::tcp::endpoint endpoint(ip, static_cast<unsigned short>(port));
  const asio::generic::stream_protocol::endpoint generic(endpoint);
  auto fail = [&](const std::string& what) {
    return MakeError(Errc::kInternal, what + " " + where + ": " + ec.message());
  };
  server->acceptor_.open(generic.protocol(), ec);
  if (ec) return fail("cannot create a socket for");
  server->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (ip.is_v6()) {
    const int on = 1;  // ::1 only, never the IPv4 side of a dual-stack socket
    ::setsockopt(server->acceptor_.native_handle(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  }
  server->acceptor_.bind(generic, ec);
  if (ec) return fail("cannot bind");
  server->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("cannot listen on");
  return server;
}

std::unique_ptr<HttpServer> HttpServer::Replicate(asio::io_context& io) {
  std::unique_ptr<HttpServer> replica(new HttpServer(io, options_, handler_, on_error_));
  replica->owns_path_ = false;
  replica->listens_ = false;
  replica->streaming_wants_ = streaming_wants_;
  replica->streaming_handler_ = streaming_handler_;
  replica->open_connections_ = open_connections_;
  replica->uid_connections_ = uid_connections_;
  replica->group_connections_ = group_connections_;
  replica->refused_ = refused_;
  replicas_.push_back(replica.get());
  return replica;
}

void HttpServer::SetStreamingHandler(StreamingFilter wants, StreamingHandler handler) {
  streaming_wants_ = std::move(wants);
  streaming_handler_ = std::move(handler);
}

asio::awaitable<bool> WriteWholeResponse(StreamedRequest& exchange, HttpResponse& response,
                                         bool keep_alive) {
  response.keep_alive(keep_alive && !exchange.closing);
  response.set("X-Request-Id", exchange.context.request_id);
  response.prepare_payload();
  exchange.deadline.Arm(exchange.request_timeout, ConnectionDeadline::OnExpiry::kClose);
  const boost::system::error_code ec = co_await WriteResponse(exchange.stream, response);
  exchange.deadline.Disarm();
  WipeString(response.body());
  co_return !ec && response.keep_alive();
}

void HttpServer::Start() {
  if (listens_) asio::co_spawn(io_, AcceptLoop(), asio::detached);
  asio::co_spawn(io_, SweepLoop(alive_), asio::detached);
}

asio::awaitable<void> HttpServer::SweepLoop(std::shared_ptr<bool> alive) {
  for (;;) {
    sweep_timer_.expires_after(sweep_tick_);
    boost::system::error_code ec;
    co_await sweep_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive) co_return;  // the server is gone: touch nothing of it
    if (stopping_ && sessions_.empty()) co_return;
    Sweep();
  }
}

void HttpServer::Sweep() {
  const auto now = ConnectionDeadline::Clock::now();
  for (Session* session : sessions_) {
    ConnectionDeadline::OnExpiry what{};
    if (!session->deadline.Due(now, &what)) continue;
    boost::system::error_code ignored;
    if (what == ConnectionDeadline::OnExpiry::kClose) {
      session->stream->socket().close(ignored);
    } else {
      session->stream->socket().cancel(ignored);
    }
  }
}

void HttpServer::Stop() {
  if (stopping_) return;
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  if (owns_path_) ::unlink(options_.path.c_str());
  for (Session* session : sessions_) {
    if (!session->busy) session->stream->socket().close(ignored);
  }
  // The sweeper lives on while connections drain; with none left it must not hold the event
  // loop for another tick.
  if (sessions_.empty()) sweep_timer_.cancel();
}

void HttpServer::CloseAll() {
  boost::system::error_code ignored;
  for (Session* session : sessions_) session->stream->socket().close(ignored);
}

asio::awaitable<void> HttpServer::AcceptLoop() {
  while (!stopping_) {
    boost::system::error_code ec;
    asio::generic::stream_protocol::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      continue;  // e.g. EMFILE: keep serving the connections we have
    }
    // Counted here, uncounted when Serve ends (or never starts: the loop is stopping).
    if (open_connections_->fetch_add(1) >= options_.max_connections) {
      open_connections_->fetch_sub(1);
      refused_->over_total.fetch_add(1, std::memory_order_relaxed);
      NoteRefusal(options_.name, "max_connections", -1);
      continue;  // closed on scope exit
    }
    LeastBusy().Take(socket);
  }
}

bool HttpServer::AdmitUid(uid_t uid, Slot<uid_t>& slot) {
  if (!uid_connections_->TryAdd(uid, options_.max_connections_per_uid)) {
    refused_->over_per_uid.fetch_add(1, std::memory_order_relaxed);
    NoteRefusal(options_.name, "max_connections_per_uid", static_cast<std::int64_t>(uid));
    return false;
  }
  slot.counts = uid_connections_;
  slot.key = uid;
  return true;
}

bool HttpServer::AdmitGroup(const std::string& group, Slot<std::string>& slot) {
  if (group.empty()) return true;
  if (!group_connections_->TryAdd(group, options_.max_connections_per_group)) {
    refused_->over_per_group.fetch_add(1, std::memory_order_relaxed);
    NoteRefusal(options_.name, "max_connections_per_service (" + group + ")", -1);
    return false;
  }
  slot.counts = group_connections_;
  slot.key = group;
  return true;
}

HttpServer& HttpServer::LeastBusy() {
  HttpServer* least = this;
  for (HttpServer* replica : replicas_) {
    if (replica->own_connections_.load() < least->own_connections_.load()) least = replica;
  }
  return *least;
}

void HttpServer::Take(asio::generic::stream_protocol::socket& socket) {
  own_connections_.fetch_add(1);
  auto done = [this, count = open_connections_](const std::exception_ptr&) {
    own_connections_.fetch_sub(1);
    count->fetch_sub(1);
  };
  if (&socket.get_executor().context() == &io_) {
    asio::co_spawn(io_, Serve(std::move(socket)), done);
    return;
  }
  // To another loop: the descriptor travels, owned by the posted handler until it runs.
  boost::system::error_code ec;
  const auto protocol = socket.local_endpoint(ec).protocol();
  if (ec) {
    done(nullptr);
    return;  // the socket closes on scope exit
  }
  asio::post(io_, [this, protocol, fd = UniqueFd(socket.release(ec)), done]() mutable {
    asio::generic::stream_protocol::socket moved(io_);
    boost::system::error_code assigned;
    moved.assign(protocol, fd.Release(), assigned);
    if (assigned || stopping_) {
      done(nullptr);
      return;  // closed on scope exit
    }
    asio::co_spawn(io_, Serve(std::move(moved)), done);
  });
}

asio::awaitable<void> HttpServer::Serve(asio::generic::stream_protocol::socket socket) {
  // Identify the peer before reading a single byte of its request.
  std::optional<Error> unattested;
  const int fd = socket.native_handle();
  std::optional<Result<PeerAttestation>> attested;
  Slot<uid_t> slot;  // this connection's place in its uid's count, given back when Serve ends
  Slot<std::string> group_slot;  // loopback: its service's
  if (options_.peer_kind == PeerKind::kUnixSocket) {
    // The uid first (one getsockopt): a uid over its cap costs no /proc reads.
    ucred cred{};
    socklen_t length = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) co_return;
    if (!AdmitUid(cred.uid, slot)) co_return;
    attested.emplace(PeerAttestation::Attest(fd));
  } else {
    // A /proc scan: on the blocking pool, never on the event loop.
    Result<PeerAttestation> found = co_await RunBlocking(
        *options_.blocking_pool, [fd] { return PeerAttestation::AttestLoopbackPeer(fd); });
    attested.emplace(std::move(found));
    // Unattested peers share the count of uid -1.
    const uid_t uid = *attested ? (**attested).identity().uid : static_cast<uid_t>(-1);
    if (!AdmitUid(uid, slot)) co_return;
    if (*attested && options_.connection_group &&
        !AdmitGroup(options_.connection_group(**attested), group_slot)) {
      co_return;
    }
  }
  if (!*attested) {
    // On a Unix socket the caller is gone or unknowable: nobody to answer. A loopback peer
    // may be there but unidentifiable: its request is answered 403 and audited.
    if (options_.peer_kind == PeerKind::kUnixSocket) co_return;
    unattested = std::move(*attested).error();
    attested.emplace(PeerAttestation::Unattested());
  }
  PeerAttestation peer = std::move(**attested);
  boost::system::error_code ignored;
  if (options_.peer_kind == PeerKind::kLoopbackTcp) {
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  }
  // Synchronous writes (WriteResponse) return would_block instead of waiting for the peer.
  socket.non_blocking(true, ignored);
  HttpStream stream(std::move(socket));
  Session session{.stream = &stream, .busy = false, .deadline = {}};
  sessions_.insert(&session);
  HttpReadBuffer buffer;
  for (;;) {
    const bool again = co_await ServeOne(stream, buffer, peer, session, unattested);
    session.busy = false;
    if (!again || stopping_) break;
  }
  sessions_.erase(&session);
  if (stopping_ && sessions_.empty()) sweep_timer_.cancel();
  stream.socket().shutdown(asio::socket_base::shutdown_both, ignored);
}

asio::awaitable<bool> HttpServer::ServeOne(HttpStream& stream, HttpReadBuffer& buffer,
                                           PeerAttestation& peer, Session& session,
                                           const std::optional<Error>& unattested) {
  if (!co_await AwaitRequest(stream, buffer, session.deadline, options_.idle_timeout)) {
    co_return false;
  }
  // A request has begun: from here on it gets an answer and an audit record, unless the peer
  // goes away or the server closes the connection.
  session.busy = true;
  RequestContext context{.peer = peer, .request_id = NewRequestId(),
                         .started = std::chrono::steady_clock::now(),
                         .socket = options_.name.c_str()};
  HttpHeaderParser parser;
  parser.header_limit(static_cast<std::uint32_t>(options_.header_limit));
  // The head alone is read here: whoever reads the body holds its Content-Length to its own cap
  // (the body limit of a whole request, or the proxy's). Beast's default (1 MiB) would refuse
  // a larger declared length before the right cap was known. (Not boost::none: Boost 1.74's
  // parser compares the length with the optional, and every length is greater than none.)
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  const boost::system::error_code ec =
      co_await ReadHeader(stream, buffer, parser, session.deadline, options_.request_timeout);
  if (ec) {
    if (ConnectionGone(ec)) co_return false;
    co_return co_await Refuse(session, ReadError(ec), RefusedRequest{}, context);
  }
  const std::string method(parser.get().method_string());
  const std::string target(parser.get().target());
  const RefusedRequest line{.method = method, .target = target};
  if (unattested) co_return co_await Refuse(session, *unattested, line, context);
  if (options_.peer_kind == PeerKind::kLoopbackTcp) {
    // A browser tricked into calling the port (DNS rebinding) names another host.
    if (!IsLoopbackHost(parser.get()[http::field::host])) {
      co_return co_await Refuse(
          session,
          MakeError(Errc::kForbidden, "the Host header must name a loopback address "
                                      "(127.0.0.1, [::1] or localhost, with the port)"),
          line, context);
    }
  }
  if (Status fresh = peer.Refresh(); !fresh) {
    // Re-attested before the body is read: a caller that changed is not read any further.
    co_return co_await Refuse(session, fresh.error(), line, context);
  }
  if (streaming_handler_ && streaming_wants_(target)) {
    StreamedRequest exchange{.stream = stream, .buffer = buffer, .parser = parser,
                             .context = context, .deadline = session.deadline,
                             .request_timeout = options_.request_timeout,
                             .closing = stopping_};
    co_return co_await streaming_handler_(exchange);
  }
  co_return co_await ReadAndHandle(session, buffer, parser, line, context);
}

asio::awaitable<bool> HttpServer::ReadAndHandle(Session& session, HttpReadBuffer& buffer,
                                                    HttpHeaderParser& parser,
                                                    const RefusedRequest& line,
                                                    RequestContext& context) {
  http::request_parser<http::string_body> full(std::move(parser));
  full.body_limit(options_.body_limit);
  // Beast compares Content-Length with body_limit only as the head is parsed, which was read
  // without a limit: compare it with ours here.
  const boost::optional<std::uint64_t> length = full.content_length();
  if (length && *length > options_.body_limit) {
    co_return co_await Refuse(session, ReadError(http::error::body_limit), line, context);
  }
  // Reserve the whole body at once so a secret in it is never left behind by a realloc.
  if (length) full.get().body().reserve(static_cast<std::size_t>(*length));
  const boost::system::error_code ec =
      co_await ReadBody(*session.stream, buffer, full, session.deadline, options_.request_timeout);
  if (ec) {
    WipeString(full.get().body());  // a partial body may hold part of a secret
    if (ConnectionGone(ec)) co_return false;
    co_return co_await Refuse(session, ReadError(ec), line, context);
  }
  HttpRequest request = full.release();
  HttpResponse response = co_await handler_(request, context);
  WipeString(request.body());
  // A handler may ask to close the connection after its answer (response.keep_alive(false)).
  const bool keep_alive = request.keep_alive() && response.keep_alive();
  co_return co_await Answer(session, response, keep_alive, context);
}

asio::awaitable<bool> HttpServer::Refuse(Session& session, const Error& error,
                                             const RefusedRequest& line,
                                             RequestContext& context) {
  HttpResponse response = co_await on_error_(error, line, context);
  co_return co_await Answer(session, response, /*keep_alive=*/false, context);
}

asio::awaitable<bool> HttpServer::Answer(Session& session, HttpResponse& response,
                                             bool keep_alive, const RequestContext& context) {
  response.keep_alive(keep_alive && !stopping_);
  response.set("X-Request-Id", context.request_id);
  response.prepare_payload();
  session.deadline.Arm(options_.request_timeout, ConnectionDeadline::OnExpiry::kClose);
  const boost::system::error_code ec = co_await WriteResponse(*session.stream, response);
  session.deadline.Disarm();
  WipeString(response.body());  // it may have carried an access token
  co_return !ec && response.keep_alive();
}

}  // namespace dbproxy
