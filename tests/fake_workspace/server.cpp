#include "tests/fake_workspace/server.hpp"

#include <chrono>
#include <exception>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>

#include "tests/fake_workspace/encoding.hpp"
#include "tests/fake_workspace/router.hpp"

namespace dbproxy::fake {
namespace {

using std::chrono_literals::operator""s;
using std::chrono_literals::operator""ms;
using asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using RawRequest = http::request<http::string_body>;

constexpr auto kHandshakeTimeout = 10s;
constexpr auto kIdleTimeout = 60s;  // also bounds how long one request may take to arrive
constexpr auto kWriteTimeout = 30s;
constexpr auto kShutdownTimeout = 2s;
constexpr auto kAcceptRetryDelay = 50ms;
constexpr std::uint32_t kHeaderLimit = 16 * 1024;
// Uploads (DBFS, the Files API) are far larger than JSON calls: take what the proxy tests send.
constexpr std::uint64_t kBodyLimit = 64 * 1024 * 1024;
constexpr std::size_t kBlobChunk = 64 * 1024;

// What to do with the connection after an exchange.
enum class After { kKeepAlive, kClose, kAbort };

auto Redirect(beast::error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
}

FakeRequest ToFakeRequest(const RawRequest& raw) {
  FakeRequest request;
  request.method = std::string(raw.method_string());
  request.target = std::string(raw.target());
  for (const auto& field : raw) {
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = raw.body();
  return request;
}

template <class Body>
void SetCommonHeaders(http::response<Body>& response, const FakeReply& reply, bool keep_alive) {
  response.set(http::field::content_type, reply.content_type);
  // Databricks clients read x-databricks-request-id first, then X-Request-Id: send both.
  const std::string request_id = NewUuid();
  response.set("X-Request-Id", request_id);
  response.set("X-Databricks-Request-Id", request_id);
  for (const auto& [name, value] : reply.headers)
    response.insert(name, value);
  response.keep_alive(keep_alive);
}

asio::awaitable<bool> WriteReply(TlsStream& stream, const FakeReply& reply, unsigned version,
                                 bool keep_alive) {
  http::response<http::string_body> response{static_cast<http::status>(reply.status), version};
  SetCommonHeaders(response, reply, keep_alive);
  response.body() = reply.body;
  response.prepare_payload();
  beast::error_code ec;
  beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
  co_await http::async_write(stream, response, Redirect(ec));
  co_return !ec;
}

// Writes the head of `reply` (its whole Content-Length) and only the first `keep` bytes of its
// body; the caller then aborts the connection: a reset in the middle of the answer.
asio::awaitable<void> WriteCutReply(TlsStream& stream, const FakeReply& reply, unsigned version,
                                    std::size_t keep) {
  http::response<http::string_body> response{static_cast<http::status>(reply.status), version};
  SetCommonHeaders(response, reply, true);
  response.body() = reply.body;
  response.prepare_payload();
  std::ostringstream text;
  text << response.base();
  std::string bytes = text.str();
  bytes += reply.body.substr(0, std::min(keep, reply.body.size()));
  beast::error_code ec;
  beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
  co_await asio::async_write(stream, asio::buffer(bytes), Redirect(ec));
}

// Streams reply.stream_bytes bytes (byte i is 'a' + i % 26) in fixed-size chunks, so a blob of
// any size costs one chunk of memory.
asio::awaitable<bool> StreamBlob(TlsStream& stream, const FakeReply& reply, unsigned version,
                                 bool keep_alive) {
  http::response<http::buffer_body> response{static_cast<http::status>(reply.status), version};
  SetCommonHeaders(response, reply, keep_alive);
  response.content_length(*reply.stream_bytes);
  response.body().data = nullptr;
  response.body().more = true;
  http::response_serializer<http::buffer_body> serializer{response};
  beast::error_code ec;
  beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
  co_await http::async_write_header(stream, serializer, Redirect(ec));
  if (ec) co_return false;

  std::string pattern(kBlobChunk + 26, '\0');
  for (std::size_t i = 0; i < pattern.size(); ++i)
    pattern[i] = static_cast<char>('a' + i % 26);
  std::uint64_t sent = 0;
  const std::uint64_t total = *reply.stream_bytes;
  while (!serializer.is_done()) {
    const std::size_t size =
        static_cast<std::size_t>(std::min<std::uint64_t>(kBlobChunk, total - sent));
    response.body().data = size == 0 ? nullptr : pattern.data() + sent % 26;
    response.body().size = size;
    response.body().more = size != 0;
    sent += size;
    beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
    co_await http::async_write(stream, serializer, Redirect(ec));
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return false;
  }
  co_return true;
}

asio::awaitable<After> ServeRequest(TlsStream& stream, const RawRequest& raw,
                                    WorkspaceState& state) {
  FakeRequest request = ToFakeRequest(raw);
  const unsigned version = raw.version();
  const bool keep_alive = raw.keep_alive();
  const auto next = [keep_alive](bool written) {
    return !written ? After::kAbort : keep_alive ? After::kKeepAlive : After::kClose;
  };
  if (!ParseTarget(request)) {
    const FakeReply reply = ApiError(400, "MALFORMED_REQUEST", "Malformed query string");
    co_return next(co_await WriteReply(stream, reply, version, keep_alive));
  }
  std::optional<Fault> fault;
  {
    const std::lock_guard<std::mutex> lock(state.mutex);
    fault = AdmitRequest(request, state);
  }
  if (fault && fault->latency_ms > 0) {
    asio::steady_timer timer(co_await asio::this_coro::executor,
                             std::chrono::milliseconds(fault->latency_ms));
    beast::error_code ec;
    co_await timer.async_wait(Redirect(ec));
  }
  if (fault && fault->drop) co_return After::kAbort;
  FakeReply reply;
  if (fault && fault->status != 0) {
    reply = FaultReply(request, *fault);
  } else {
    const std::lock_guard<std::mutex> lock(state.mutex);
    reply = RouteRequest(request, state);
  }
  if (fault && fault->cut_after_bytes && !reply.stream_bytes) {
    co_await WriteCutReply(stream, reply, version, *fault->cut_after_bytes);
    co_return After::kAbort;
  }
  const bool written = reply.stream_bytes ? co_await StreamBlob(stream, reply, version, keep_alive)
                                          : co_await WriteReply(stream, reply, version, keep_alive);
  co_return next(written);
}

asio::awaitable<void> RunSession(tcp::socket socket, asio::ssl::context& tls,
                                 WorkspaceState& state) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  bool fail_handshake = false;
  {
    const std::lock_guard<std::mutex> lock(state.mutex);
    if (state.handshake_faults > 0) {
      --state.handshake_faults;
      fail_handshake = true;
    } else if (std::chrono::steady_clock::now() < state.handshake_faults_until) {
      fail_handshake = true;
    }
  }
  if (fail_handshake) {
    // Plain text where a TLS ServerHello should be: the client's handshake fails.
    static constexpr char kPlain[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    co_await asio::async_write(socket, asio::buffer(kPlain, sizeof kPlain - 1), Redirect(ec));
    co_return;
  }
  TlsStream stream(std::move(socket), tls);
  auto& transport = beast::get_lowest_layer(stream);
  transport.expires_after(kHandshakeTimeout);
  co_await stream.async_handshake(asio::ssl::stream_base::server, Redirect(ec));
  if (ec) co_return;

  beast::flat_buffer buffer;
  After after = After::kKeepAlive;
  while (after == After::kKeepAlive) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(kBodyLimit);
    transport.expires_after(kIdleTimeout);
    co_await http::async_read_header(stream, buffer, parser, Redirect(ec));
    if (!ec) {
      std::optional<std::size_t> drop_after;
      {
        const std::lock_guard<std::mutex> lock(state.mutex);
        const auto target = parser.get().target();
        drop_after = TakeUploadDrop(std::string_view(target.data(), target.size()), state);
      }
      if (drop_after) {
        // Read that much of the body (or all there is), then go without a word.
        while (!parser.is_done() && parser.get().body().size() < *drop_after) {
          co_await http::async_read_some(stream, buffer, parser, Redirect(ec));
          if (ec) break;
        }
        co_return;
      }
      if (!parser.is_done()) co_await http::async_read(stream, buffer, parser, Redirect(ec));
    }
    if (ec == http::error::header_limit || ec == http::error::body_limit) {
      const FakeReply reply = ApiError(413, "REQUEST_TOO_LARGE", "Request is too large");
      after = co_await WriteReply(stream, reply, 11, false) ? After::kClose : After::kAbort;
    } else if (ec) {
      after = ec == http::error::end_of_stream ? After::kClose : After::kAbort;
    } else {
      after = co_await ServeRequest(stream, parser.get(), state);
    }
  }
  if (after == After::kClose) {
    transport.expires_after(kShutdownTimeout);
    co_await stream.async_shutdown(Redirect(ec));
  }
  // kAbort: the socket closes when `stream` is destroyed, without a TLS close_notify.
}

void ReportSessionError(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    std::cerr << "dbproxy-fake-workspace: session failed: " << e.what() << std::endl;
  }
}

asio::awaitable<void> AcceptLoop(tcp::acceptor& acceptor, asio::ssl::context& tls,
                                 WorkspaceState& state) {
  while (acceptor.is_open()) {
    beast::error_code ec;
    // Each session runs on its own strand: with --threads, a stream's I/O and its timeout
    // handler must never run at the same time.
    const auto strand = asio::make_strand(acceptor.get_executor());
    tcp::socket socket = co_await acceptor.async_accept(strand, Redirect(ec));
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // e.g. EMFILE under a benchmark: back off instead of spinning.
      asio::steady_timer timer(acceptor.get_executor(), kAcceptRetryDelay);
      co_await timer.async_wait(Redirect(ec));
      continue;
    }
    const auto session_executor = socket.get_executor();
    asio::co_spawn(session_executor, RunSession(std::move(socket), tls, state),
                   ReportSessionError);
  }
}

}  // namespace

asio::ssl::context MakeServerTlsContext(const TlsIdentity& identity) {
  asio::ssl::context tls(asio::ssl::context::tls_server);
  SSL_CTX* native = tls.native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_use_certificate(native, identity.server_cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(native, identity.server_key.get()) != 1 ||
      SSL_CTX_check_private_key(native) != 1) {
    throw std::runtime_error("cannot configure the TLS server context");
  }
  return tls;
}

FakeWorkspaceServer::FakeWorkspaceServer(asio::io_context& io, asio::ssl::context& tls,
                                         WorkspaceState& state, unsigned short port)
    : acceptor_(io), tls_(tls), state_(state) {
  const tcp::endpoint endpoint(asio::ip::make_address_v4("127.0.0.1"), port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
}

void FakeWorkspaceServer::Start() {
  asio::co_spawn(acceptor_.get_executor(), AcceptLoop(acceptor_, tls_, state_), ReportSessionError);
}

void FakeWorkspaceServer::Stop() {
  beast::error_code ec;
  acceptor_.close(ec);
}

}  // namespace dbproxy::fake
