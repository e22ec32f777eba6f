// UpstreamClient: HTTPS calls to Databricks workspaces for proxy mode, on the event loop.
//
// One libcurl multi handle driven from the agent's io_context (the "multi socket" interface:
// curl tells us which sockets to watch and when to wake it; Asio waits, no thread per call).
// Connections are kept alive and reused per host (at most `max_connections_per_host`). TLS is
// always verified (against `ca_file` when set), only https:// is spoken, redirects are never
// followed (a Location could carry the token elsewhere).
//
// Bodies stream both ways with bounded buffers: when the caller is slower than the workspace,
// the transfer is paused (CURL_WRITEFUNC_PAUSE) until the buffered bytes have been taken; a
// streamed request body pauses the upload (CURL_READFUNC_PAUSE) until more bytes are written.
//
// The access token goes into the Authorization header from guarded memory: the header line is
// built in a SecretBytes buffer linked into the header list, never in a std::string. libcurl
// copies it into its send buffer (freed, not wiped) while the request is written.
//
// Threading: event-loop thread only. A transfer is used by one coroutine at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <curl/curl.h>

#include "agent/asio.hpp"
#include "common/calls/proxy_headers.hpp"
#include "common/core/result.hpp"
#include "common/core/secret_bytes.hpp"

namespace dbproxy {

struct UpstreamClientOptions {
  std::string ca_file;              // empty: the system trust store
  int connect_timeout_ms = 5000;    // TCP + TLS handshake
  int request_timeout_ms = 120000;  // a whole call, body included; past the head, the body is cut
  int max_connections_per_host = 32;
  std::size_t buffer_bytes = 256 * 1024;  // per direction and transfer, before pausing
};

// What Start() needs; it copies what it keeps except `body`, which must outlive the transfer.
struct UpstreamCall {
  std::string_view method{};                  // as the caller sent it ("GET", "POST", ...)
  std::string url{};                          // https://host/path?query
  std::span<const HeaderField> headers{};     // already filtered (RequestHeadersToForward)
  const SecretBytes* access_token = nullptr;  // sent as "Authorization: Bearer <token>"
  // The complete request body, or null when it is streamed with Write()/FinishBody().
  const std::string* body = nullptr;
  std::optional<std::uint64_t> streamed_length{};  // streamed: Content-Length if known
  // How long Head() waits for the status line and headers, counted from its call (once the
  // request body has been handed over); zero: only request_timeout_ms bounds the wait.
  std::chrono::milliseconds head_timeout{0};
};

struct UpstreamHead {
  int status = 0;
  std::vector<HeaderField> headers;  // as received, in order
  std::optional<std::uint64_t> content_length;
};

class UpstreamClient;

// One call in flight. Destroying it aborts the call if it has not finished.
class UpstreamTransfer {
 public:
  ~UpstreamTransfer();
  UpstreamTransfer(const UpstreamTransfer&) = delete;
  UpstreamTransfer& operator=(const UpstreamTransfer&) = delete;

  // Waits for the status line and headers. Errors: kUpstreamUnavailable (cannot connect, TLS),
  // kUpstreamTimeout (no head within the call's head_timeout, which ends the call, or
  // request_timeout_ms passed), kUpstreamError (connection lost, bad reply).
  asio::awaitable<Result<UpstreamHead>> Head();
  // Replaces `out` with the next part of the response body; leaves it empty at the end of the
  // body. Errors as Head() (the body was cut short).
  // REQUIRES: Head() succeeded.
  asio::awaitable<Status> Read(std::string& out);
  // Streamed request body: appends `data`, waiting while the send buffer is full. Fails when
  // the call has already ended (the workspace may answer before reading the whole body).
  asio::awaitable<Status> Write(const std::string& data);
  // Marks the end of a streamed request body.
  void FinishBody();
  // Whether the call has ended (successfully or not) at the transport level.
  bool done() const { return done_; }
  // Whether the whole response body has arrived and been taken by Read().
  bool complete() const { return done_ && result_ == CURLE_OK && received_.empty(); }
  std::int64_t bytes_sent() const { return bytes_sent_; }

 private:
  friend class UpstreamClient;
  UpstreamTransfer(UpstreamClient& client, CURL* easy);
  Status Configure(const UpstreamCall& call);
  Status BuildHeaders(const UpstreamCall& call);
  asio::awaitable<void> Wait(asio::steady_timer::time_point deadline =
                                 asio::steady_timer::time_point::max());
  void Wake() { signal_.cancel(); }
  void Resume();
  void Finish(CURLcode code);
  Status Failure() const;
  static std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* self);
  static std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* self);
  static std::size_t OnUpload(char* data, std::size_t size, std::size_t count, void* self);

  UpstreamClient& client_;
  CURL* easy_;
  curl_slist* header_list_ = nullptr;  // curl's nodes (freed with curl_slist_free_all)
  curl_slist auth_node_{};  // ours, pointing into auth_line_
  SecretBytes auth_line_;   // "Authorization: Bearer <token>", NUL-terminated, from the pool
  std::size_t auth_used_ = 0;
  const std::string* buffered_body_ = nullptr;  // the caller's, complete
  std::string request_body_;                    // the pending part of a streamed body
  std::size_t request_offset_ = 0;
  bool body_finished_ = true;
  bool send_paused_ = false;
  bool recv_paused_ = false;
  asio::steady_timer signal_;
  UpstreamHead head_;
  bool head_done_ = false;
  std::string received_;
  bool done_ = false;
  CURLcode result_ = CURLE_OK;
  std::int64_t bytes_sent_ = 0;
  std::chrono::milliseconds head_timeout_{0};
};

class UpstreamClient {
 public:
  // Throws std::runtime_error when libcurl cannot create a multi handle (start-up only).
  UpstreamClient(asio::io_context& io, UpstreamClientOptions options);
  ~UpstreamClient();
  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  // Starts a call. Errors: kInvalidRequest (not an https URL), kInternal (libcurl refused).
  Result<std::unique_ptr<UpstreamTransfer>> Start(const UpstreamCall& call);
  // Aborts every call in flight (their waiters see kUpstreamUnavailable) and stops watching.
  void Stop();
  std::size_t active() const { return transfers_.size(); }

 private:
  friend class UpstreamTransfer;
  struct Watch;
  static int OnSocket(CURL* easy, curl_socket_t fd, int what, void* self, void* socket_data);
  static int OnTimer(CURLM* multi, long timeout_ms, void* self);
  void Arm(const std::shared_ptr<Watch>& watch);
  void Act(curl_socket_t fd, int events);
  void Reap();
  void Release(UpstreamTransfer& transfer);
  // Guarded buffers of at least `size` bytes for Authorization lines, reused across calls;
  // ReturnAuthBuffer wipes the `used` bytes first.
  SecretBytes TakeAuthBuffer(std::size_t size);
  void ReturnAuthBuffer(SecretBytes buffer, std::size_t used);

  asio::io_context& io_;
  UpstreamClientOptions options_;
  CURLM* multi_;
  // curl's timeout (CURLMOPT_TIMERFUNCTION), coalesced: re-armed only when curl asks for an
  // earlier wake-up than the one set. A wake-up that comes early is harmless: curl acts on
  // what is due and asks again. timer_generation_ tells the current wait from a replaced one.
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  std::uint64_t timer_generation_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // false once destroyed
  std::map<curl_socket_t, std::shared_ptr<Watch>> watches_;
  std::map<CURL*, UpstreamTransfer*> transfers_;
  std::vector<CURL*> idle_handles_;
  std::vector<SecretBytes> spare_auth_buffers_;
  bool stopped_ = false;
};

}  // namespace dbproxy
