// HttpServer: HTTP/1.1 with keep-alive, one coroutine per connection, on a Unix socket (the
// agent and admin sockets) or a loopback TCP address (unmodified Databricks clients).
//
// Security steps, in order, for every connection: the peer is attested from the kernel before a
// byte is read (PeerAttestation: SO_PEERCRED on a Unix socket; on loopback TCP the process that
// holds the client end, found through NETLINK_SOCK_DIAG and /proc), and re-attested before each
// request is handled. A loopback peer that cannot be attested gets 403 unidentified (audited)
// for its first request, never service as "someone local". Every read has a deadline, headers
// and bodies have caps, and the number of connections is bounded. Deadlines: one per
// connection (ConnectionDeadline), acted on by one sweeper timer for the whole server.
// Threading: a server runs on the single thread of its io_context. To use more cores, the
// agent Replicate()s a server onto other event loops: the server that listens accepts every
// connection and hands it to the one of the group (itself included) serving the fewest, which
// serves it to the end on its own thread; the connection count (and its cap) is the group's.
// (Replicas accepting from a shared descriptor were tried first: one loop took every
// connection of a burst, its speculative accepts emptying the backlog before another woke.)
// Start, Stop and CloseAll run on the server's own loop (post them); active_connections()
// from any thread.
#pragma once

#include <sys/types.h>

#include <sodium.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/asio.hpp"
#include "agent/server/connection_deadline.hpp"
#include "agent/server/peer.hpp"
#include "common/core/result.hpp"

namespace dbproxy {

struct AuditRecord;
struct CallerJwt;
struct CallerSaml;

using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

struct RequestContext {
  const PeerAttestation& peer;
  std::string request_id;
  std::chrono::steady_clock::time_point started;
  // The listener the request came in on ("agent", "admin", "loopback"): the audit's socket.
  const char* socket = "agent";
  // The request's audit record once a handler has begun it (BeginAudit); ErrorResponse notes
  // the answered error's code in it, so the record takes its code from the Error itself.
  AuditRecord* audit = nullptr;
  // The caller's verified identity-provider token (IdentifyCallerJwt); null when it presented
  // none. Points into the handler's frame, which outlives the request's decisions.
  const CallerJwt* jwt = nullptr;
  // The caller's verified SAML assertion (IdentifyCallerSaml); null when it presented none.
  // Points into the handler's frame, as `jwt` does.
  const CallerSaml* saml = nullptr;
};

// Zeroes memory before freeing it: a connection's read buffer may have held a secret.
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

// Unix and TCP connections alike (asio's generic stream protocol).
using HttpStream = beast::basic_stream<asio::generic::stream_protocol, asio::any_io_executor,
                                       beast::unlimited_rate_policy>;
using HttpReadBuffer = beast::basic_flat_buffer<WipingAllocator<char>>;
using HttpHeaderParser = http::request_parser<http::empty_body>;

// A request whose body its handler reads itself (proxy mode streams it). The header has been
// read and the peer re-attested; nothing of the body has been parsed yet.
struct StreamedRequest {
  HttpStream& stream;
  HttpReadBuffer& buffer;
  HttpHeaderParser& parser;  // the handler may move it into a parser with a body type
  RequestContext& context;
  // The connection's deadline: arm it (request_timeout) before each read or write of the
  // exchange. kClose: past it the socket is closed and the operation fails.
  ConnectionDeadline& deadline;
  std::chrono::seconds request_timeout;  // per read or write of the exchange
  bool closing = false;                  // the server is stopping: answer Connection: close
};
// Handles a streamed request and writes its whole response (with X-Request-Id). Returns
// whether the connection may serve another request: the request body was read to its end and
// the response was written completely.
using StreamingHandler = std::function<asio::awaitable<bool>(StreamedRequest&)>;
// Whether a request target goes to the streaming handler.
using StreamingFilter = std::function<bool(std::string_view target)>;

// Writes a complete (string-body) response for a streamed request: sets X-Request-Id,
// keep-alive (only when `keep_alive` and the server is not closing) and the length, then wipes
// the body. Returns whether the connection may be reused.
asio::awaitable<bool> WriteWholeResponse(StreamedRequest& exchange, HttpResponse& response,
                                         bool keep_alive);

// Produces the response for one request. The handler owns the request body (it may wipe it).
using HttpHandler = std::function<asio::awaitable<HttpResponse>(HttpRequest&, RequestContext&)>;

// What is known of a request the server refuses itself. The views stay valid until the
// responder's awaitable completes.
struct RefusedRequest {
  std::string_view method;  // empty when the head could not be parsed
  std::string_view target;
};
// Answers a request the server refuses before any handler runs: a head or body over its cap
// (kPayloadTooLarge), a malformed request (kInvalidRequest), a request that began but did not
// arrive in time (kRequestTimeout), a caller that failed re-attestation (kUnidentified). Every
// such answer is a request's answer: the responder audits it (one record) before returning
// it, and may answer otherwise (503 audit_unavailable while the trail is down). The server
// adds X-Request-Id and Connection: close and writes it. An idle connection closing without a
// byte of a request, or a peer that goes away mid-request, gets no answer and no call.
using HttpErrorResponder = std::function<asio::awaitable<HttpResponse>(
    const Error&, const RefusedRequest&, RequestContext&)>;

// How the peer of a connection is identified.
enum class PeerKind {
  kUnixSocket,   // SO_PEERCRED
  kLoopbackTcp,  // FindLoopbackPeer (sock_diag + /proc); also requires a loopback Host header
};

struct HttpServerOptions {
  std::string name = "agent";  // the RequestContext's socket ("agent", "admin", "loopback")
  PeerKind peer_kind = PeerKind::kUnixSocket;
  std::string path;  // the Unix socket's path; for TCP, the address (only named in messages)
  // kLoopbackTcp: where the blocking peer lookup runs (required).
  asio::thread_pool* blocking_pool = nullptr;
  mode_t mode = 0666;
  gid_t group = static_cast<gid_t>(-1);  // chown the socket to this group unless -1
  std::size_t max_connections = 1024;
  // Connections one peer uid may hold at once (0: no cap), so one local user cannot take the
  // whole of max_connections from the others. Checked on SO_PEERCRED before a Unix socket peer
  // is attested, on the attested uid for loopback TCP (unattested peers share one count).
  // Excess connections are closed before a byte is read (no request, so no answer) and counted.
  std::size_t max_connections_per_uid = 256;
  // Loopback TCP: the group an attested peer's connection counts in (the agent gives the name of
  // the service it matches; "" counts in none) and how many connections one group may hold
  // (0: no cap). Called on the event loop once per connection; must not block.
  std::function<std::string(const PeerAttestation&)> connection_group;
  std::size_t max_connections_per_group = 0;
  std::size_t header_limit = 16 * 1024;
  std::size_t body_limit = 64 * 1024;
  // Waiting for the first byte of the next request; a connection idle this long is closed.
  std::chrono::seconds idle_timeout{60};
  // Once a request has begun: reading its head, then its body (each; 408 past it), and
  // writing one response.
  std::chrono::seconds request_timeout{30};
};

// Connections refused before a request was read, by cause. Any thread.
struct RefusedConnections {
  std::atomic<std::uint64_t> over_total{0};      // max_connections reached
  std::atomic<std::uint64_t> over_per_uid{0};    // the peer's uid held max_connections_per_uid
  std::atomic<std::uint64_t> over_per_group{0};  // its service held max_connections_per_group
};

// Open connections per key (a peer uid, a service name), shared by a listening server and its
// replicas. Thread-safe: one mutex, held for a map update only.
template <typename Key>
class ConnectionCounts {
 public:
  // Counts one more connection of `key` unless it already holds `max` (0: no cap).
  bool TryAdd(const Key& key, std::size_t max) {
    std::lock_guard lock(mutex_);
    std::size_t& count = counts_[key];
    if (max != 0 && count >= max) {
      if (count == 0) counts_.erase(key);
      return false;
    }
    ++count;
    return true;
  }
  void Remove(const Key& key) {
    std::lock_guard lock(mutex_);
    const auto found = counts_.find(key);
    if (found != counts_.end() && --found->second == 0) counts_.erase(found);
  }
  std::size_t Of(const Key& key) const {
    std::lock_guard lock(mutex_);
    const auto found = counts_.find(key);
    return found == counts_.end() ? 0 : found->second;
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<Key, std::size_t> counts_;  // only keys with open connections
};
using UidConnectionCounts = ConnectionCounts<uid_t>;
using GroupConnectionCounts = ConnectionCounts<std::string>;

class HttpServer {
 public:
  // Binds `options.path` (replacing a stale socket file) with the mode applied at bind time
  // through umask, then chmod/chown. Errors name the path and errno.
  static Result<std::unique_ptr<HttpServer>> Listen(asio::io_context& io,
                                                        HttpServerOptions options,
                                                        HttpHandler handler,
                                                        HttpErrorResponder on_error);
  // Serves on `listening_fd`, an already bound and listening AF_UNIX stream socket it takes
  // over (socket activation). The socket file belongs to whoever bound it: mode and owner are
  // left alone and Stop() does not remove it. `options.path` only names it in messages.
  static Result<std::unique_ptr<HttpServer>> Adopt(asio::io_context& io,
                                                       HttpServerOptions options,
                                                       int listening_fd, HttpHandler handler,
                                                       HttpErrorResponder on_error);
  // Listens on a loopback TCP address (IPV6_V6ONLY for ::1, SO_REUSEADDR); peers are attested
  // as options.peer_kind = kLoopbackTcp. Errors name the address and errno.
  static Result<std::unique_ptr<HttpServer>> ListenTcp(asio::io_context& io,
                                                       HttpServerOptions options,
                                                       const std::string& address, int port,
                                                       HttpHandler handler,
                                                       HttpErrorResponder on_error);
  // A server on `io` (another event loop) that serves connections this server accepts, with
  // the same options and handlers (set a streaming handler on the replica before Start()).
  // It has no listening socket of its own. REQUIRES: called before Start(), on a server that
  // listens (not a replica); the replica does not outlive it.
  std::unique_ptr<HttpServer> Replicate(asio::io_context& io);
  ~HttpServer();

  // Requests whose target `wants` accepts go to `handler` instead of the HttpHandler, before
  // their body is read. Call before Start().
  void SetStreamingHandler(StreamingFilter wants, StreamingHandler handler);

  void Start();
  // Stops accepting and closes idle connections; in-flight requests complete, then their
  // connections close. Removes the socket file (unless adopted).
  void Stop();
  // Closes every connection, busy or not (after the drain timeout).
  void CloseAll();
  // Open connections of this server and its replicas.
  std::size_t active_connections() const { return open_connections_->load(); }
  // Open connections served by this server's own loop. Any thread.
  std::size_t own_connections() const { return own_connections_.load(); }
  // Connections this server and its replicas refused before reading a request. Any thread.
  const RefusedConnections& refused_connections() const { return *refused_; }

 private:
  struct Session;
  HttpServer(asio::io_context& io, HttpServerOptions options, HttpHandler handler,
                 HttpErrorResponder on_error);
  asio::awaitable<void> AcceptLoop();
  // The group's server with the fewest connections (this one on a tie with it).
  HttpServer& LeastBusy();
  // A connection's place in its key's count; gives it back when destroyed.
  template <typename Key>
  struct Slot {
    std::shared_ptr<ConnectionCounts<Key>> counts;
    Key key{};
    Slot() = default;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() {
      if (counts) counts->Remove(key);
    }
  };
  // Takes a place for `uid` (a loopback peer's service `group`) in `slot`, or counts and logs
  // the refusal and returns false.
  bool AdmitUid(uid_t uid, Slot<uid_t>& slot);
  bool AdmitGroup(const std::string& group, Slot<std::string>& slot);
  // Serves an accepted connection on this server's loop (from any thread); already counted.
  void Take(asio::generic::stream_protocol::socket& socket);
  // Every tick, acts on the connections whose deadline passed; runs until the server is
  // stopped and its last connection is gone (or it is destroyed).
  asio::awaitable<void> SweepLoop(std::shared_ptr<bool> alive);
  void Sweep();
  asio::awaitable<void> Serve(asio::generic::stream_protocol::socket socket);
  // Reads and answers one request on a connection; returns whether it may serve another.
  // `unattested`: why a loopback peer could not be attested (its request is refused with it).
  asio::awaitable<bool> ServeOne(HttpStream& stream, HttpReadBuffer& buffer,
                                 PeerAttestation& peer, Session& session,
                                 const std::optional<Error>& unattested);
  asio::awaitable<bool> ReadAndHandle(Session& session, HttpReadBuffer& buffer,
                                      HttpHeaderParser& parser, const RefusedRequest& line,
                                      RequestContext& context);
  // Answers through on_error_ and ends the connection (returns false).
  asio::awaitable<bool> Refuse(Session& session, const Error& error,
                               const RefusedRequest& line, RequestContext& context);
  // Writes `response` (X-Request-Id, keep-alive unless stopping); wipes its body.
  asio::awaitable<bool> Answer(Session& session, HttpResponse& response, bool keep_alive,
                               const RequestContext& context);

  asio::io_context& io_;
  HttpServerOptions options_;
  HttpHandler handler_;
  HttpErrorResponder on_error_;
  StreamingFilter streaming_wants_;
  StreamingHandler streaming_handler_;
  asio::basic_socket_acceptor<asio::generic::stream_protocol> acceptor_;
  asio::steady_timer sweep_timer_;
  std::chrono::milliseconds sweep_tick_{1000};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // false once destroyed
  std::set<Session*> sessions_;  // this loop's connections
  // Connections of this server and its replicas (the cap applies to the sum).
  std::shared_ptr<std::atomic<std::size_t>> open_connections_ =
      std::make_shared<std::atomic<std::size_t>>(0);
  std::atomic<std::size_t> own_connections_{0};  // served on this loop (LeastBusy reads it)
  // Shared with the replicas, as open_connections_.
  std::shared_ptr<UidConnectionCounts> uid_connections_ = std::make_shared<UidConnectionCounts>();
  std::shared_ptr<GroupConnectionCounts> group_connections_ =
      std::make_shared<GroupConnectionCounts>();
  std::shared_ptr<RefusedConnections> refused_ = std::make_shared<RefusedConnections>();
  std::vector<HttpServer*> replicas_;            // the listening server's group, itself excluded
  bool listens_ = true;                          // false for a replica
  bool stopping_ = false;
  bool owns_path_ = true;  // false for an adopted socket
};

// A random 16-hex-digit request id.
std::string NewRequestId();

// Whether a Host header value names a loopback address: 127.0.0.0/8, [::1] or localhost, with
// or without a port.
bool IsLoopbackHost(std::string_view host);

}  // namespace dbproxy
