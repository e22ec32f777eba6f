#include "agent/proxy/upstream_client.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include "agent/wiping_heap.hpp"
#include "common/core/text.hpp"
#include "common/oauth/oauth.hpp"

namespace dbproxy {
namespace {

constexpr std::size_t kMaxIdleHandles = 64;
// Guarded buffers for the Authorization line are kept for reuse: sodium_malloc and sodium_free
// cost about eight system calls each time (guard pages, mlock).
constexpr std::size_t kAuthBufferBytes = 8192;
constexpr std::string_view kBearerPrefix = "Authorization: Bearer ";
constexpr long kUploadBufferBytes = 64 * 1024;  // libcurl's default

// A kUpstreamUnavailable error made here: every 503 tells the caller when to retry.
Error Unavailable(std::string message, std::string log_detail = {}) {
  Error error = MakeError(Errc::kUpstreamUnavailable, std::move(message), std::move(log_detail));
  error.retry_after_seconds = kDefaultRetryAfterSeconds;
  return error;
}

Error TransportError(CURLcode code) {
  const std::string text = curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return MakeError(Errc::kUpstreamTimeout, "workspace did not answer in time", text);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return Unavailable("cannot reach workspace: " + text, text);
    default:
      return MakeError(Errc::kUpstreamError, "workspace connection failed: " + text, text);
  }
}

}  // namespace

// A socket libcurl asked us to watch. The descriptor does not own the fd: it is released (never
// closed) when curl says the socket is gone, because curl closes it itself.
struct UpstreamClient::Watch {
  explicit Watch(asio::io_context& io) : descriptor(io) {}
  asio::posix::stream_descriptor descriptor;
  curl_socket_t fd = CURL_SOCKET_BAD;
  int want = 0;  // CURL_POLL_IN / OUT / INOUT
  bool reading = false;
  bool writing = false;
  bool closed = false;
};

UpstreamClient::UpstreamClient(asio::io_context& io, UpstreamClientOptions options)
    : io_(io), options_(std::move(options)), multi_(curl_multi_init()), timer_(io) {
  if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &UpstreamClient::OnSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &UpstreamClient::OnTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                    static_cast<long>(options_.max_connections_per_host));
  // The idle-connection cache must hold a full set of per-host connections, for a few hosts.
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS,
                    static_cast<long>(options_.max_connections_per_host) * 4);
}

UpstreamClient::~UpstreamClient() {
  *alive_ = false;
  Stop();
  for (CURL* easy : idle_handles_)
    curl_easy_cleanup(easy);
  curl_multi_cleanup(multi_);  // closes the pooled connections
}

void UpstreamClient::Stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  timer_.cancel();
  // Finish() removes the handle from transfers_.
  while (!transfers_.empty())
    transfers_.begin()->second->Finish(CURLE_ABORTED_BY_CALLBACK);
  // Stop waiting on curl's sockets so the event loop can run dry; curl closes them later.
  for (auto& [fd, watch] : watches_) {
    watch->closed = true;
    watch->descriptor.cancel(ignored);
    (void)watch->descriptor.release();
  }
  watches_.clear();
}

Result<std::unique_ptr<UpstreamTransfer>> UpstreamClient::Start(const UpstreamCall& call) {
  if (stopped_) return Unavailable("the agent is shutting down");
  if (!call.url.starts_with("https://")) {
    return MakeError(Errc::kInvalidRequest, "workspace host is not an https URL");
  }
  CURL* easy = nullptr;
  if (!idle_handles_.empty()) {
    easy = idle_handles_.back();
    idle_handles_.pop_back();
  } else {
    easy = curl_easy_init();
    if (easy == nullptr) return MakeError(Errc::kInternal, "curl_easy_init failed");
  }
  std::unique_ptr<UpstreamTransfer> transfer(new UpstreamTransfer(*this, easy));
  if (Status s = transfer->Configure(call); !s) return std::move(s).error();
  if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
    return MakeError(Errc::kInternal, "curl_multi_add_handle failed");
  }
  transfers_[easy] = transfer.get();
  // Let curl start at once (a reused connection sends the request now) instead of after a
  // round through the event loop for the 0 ms timeout it has just asked for.
  Act(CURL_SOCKET_TIMEOUT, 0);
  return transfer;
}

SecretBytes UpstreamClient::TakeAuthBuffer(std::size_t size) {
  if (size > kAuthBufferBytes) return SecretBytes(size);
  if (spare_auth_buffers_.empty()) return SecretBytes(kAuthBufferBytes);
  SecretBytes buffer = std::move(spare_auth_buffers_.back());
  spare_auth_buffers_.pop_back();
  return buffer;
}

void UpstreamClient::ReturnAuthBuffer(SecretBytes buffer, std::size_t used) {
  WipeBytes(buffer.bytes().first(std::min(used, buffer.size())));
  if (buffer.size() == kAuthBufferBytes && spare_auth_buffers_.size() < kMaxIdleHandles) {
    spare_auth_buffers_.push_back(std::move(buffer));
  }
}

void UpstreamClient::Release(UpstreamTransfer& transfer) {
  if (transfers_.erase(transfer.easy_) > 0) curl_multi_remove_handle(multi_, transfer.easy_);
}

int UpstreamClient::OnSocket(CURL* /*easy*/, curl_socket_t fd, int what, void* self,
                             void* /*socket_data*/) {
  auto* client = static_cast<UpstreamClient*>(self);
  if (client->stopped_) return 0;
  auto found = client->watches_.find(fd);
  if (what == CURL_POLL_REMOVE) {
    if (found != client->watches_.end()) {
      boost::system::error_code ignored;
      found->second->closed = true;
      found->second->descriptor.cancel(ignored);
      (void)found->second->descriptor.release();
      client->watches_.erase(found);
    }
    return 0;
  }
  if (found == client->watches_.end()) {
    auto watch = std::make_shared<Watch>(client->io_);
    boost::system::error_code ec;
    watch->descriptor.assign(fd, ec);
    if (ec) return -1;  // curl fails the transfer
    watch->fd = fd;
    found = client->watches_.emplace(fd, std::move(watch)).first;
  }
  found->second->want = what;
  client->Arm(found->second);
  return 0;
}

void UpstreamClient::Arm(const std::shared_ptr<Watch>& watch) {
  if ((watch->want & CURL_POLL_IN) != 0 && !watch->reading) {
    watch->reading = true;
    watch->descriptor.async_wait(asio::posix::descriptor_base::wait_read,
                                 [this, watch](boost::system::error_code ec) {
                                   watch->reading = false;
                                   if (ec || watch->closed) return;
                                   Act(watch->fd, CURL_CSELECT_IN);
                                   if (!watch->closed) Arm(watch);
                                 });
  }
  if ((watch->want & CURL_POLL_OUT) != 0 && !watch->writing) {
    watch->writing = true;
    watch->descriptor.async_wait(asio::posix::descriptor_base::wait_write,
                                 [this, watch](boost::system::error_code ec) {
                                   watch->writing = false;
                                   if (ec || watch->closed) return;
                                   Act(watch->fd, CURL_CSELECT_OUT);
                                   if (!watch->closed) Arm(watch);
                                 });
  }
}

int UpstreamClient::OnTimer(CURLM* /*multi*/, long timeout_ms, void* self) {
  auto* client = static_cast<UpstreamClient*>(self);
  if (client->stopped_) return 0;
  // Never call back into curl from here: the wake-up runs from the event loop. Every call
  // re-arming the timer would cost a timerfd_settime(2) per transfer, and curl calls this
  // several times per transfer.
  if (timeout_ms < 0) return 0;  // nothing due: a wake-up already set just comes early
  if (timeout_ms == 0) {
    asio::post(client->io_, [client, alive = client->alive_] {
      if (*alive) client->Act(CURL_SOCKET_TIMEOUT, 0);
    });
    return 0;
  }
  const auto due = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  if (client->timer_armed_ && client->timer_.expiry() <= due) return 0;
  client->timer_.expires_at(due);  // cancels the later wait, if any
  client->timer_armed_ = true;
  const std::uint64_t generation = ++client->timer_generation_;
  client->timer_.async_wait([client, generation](boost::system::error_code ec) {
    if (ec) return;  // replaced or stopped
    if (generation == client->timer_generation_) client->timer_armed_ = false;
    client->Act(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

void UpstreamClient::Act(curl_socket_t fd, int events) {
  if (stopped_) return;
  int running = 0;
  curl_multi_socket_action(multi_, fd, events, &running);
  Reap();
}

void UpstreamClient::Reap() {
  int pending = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &pending)) {
    if (message->msg != CURLMSG_DONE) continue;
    auto found = transfers_.find(message->easy_handle);
    const CURLcode code = message->data.result;
    if (found != transfers_.end()) found->second->Finish(code);
  }
}

UpstreamTransfer::UpstreamTransfer(UpstreamClient& client, CURL* easy)
    : client_(client), easy_(easy), signal_(client.io_) {}

UpstreamTransfer::~UpstreamTransfer() {
  if (!done_) Finish(CURLE_ABORTED_BY_CALLBACK);
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(header_list_);
  WipeString(request_body_);
  if (!auth_line_.empty()) client_.ReturnAuthBuffer(std::move(auth_line_), auth_used_ + 1);
  if (client_.idle_handles_.size() < kMaxIdleHandles) {
    // curl copied the request head (the Authorization line among it) into the handle's upload
    // buffer, which a reused handle keeps: setting the size frees it (wiped: wiping_heap.hpp).
    curl_easy_setopt(easy_, CURLOPT_UPLOAD_BUFFERSIZE, kUploadBufferBytes);
    curl_easy_reset(easy_);  // keeps nothing of this call but reusable state
    client_.idle_handles_.push_back(easy_);
  } else {
    curl_easy_cleanup(easy_);
  }
}

Status UpstreamTransfer::BuildHeaders(const UpstreamCall& call) {
  for (const HeaderField& field : call.headers) {
    // "Name;" is curl's spelling of a header with an empty value.
    const std::string line =
        field.value.empty() ? field.name + ";" : field.name + ": " + field.value;
    curl_slist* next = curl_slist_append(header_list_, line.c_str());
    if (next == nullptr) return MakeError(Errc::kInternal, "out of memory");
    header_list_ = next;
  }
  // curl adds these when the caller sent none; an empty "Name:" line tells it not to.
  for (const std::string_view name : {"Accept", "Expect", "Content-Type"}) {
    const bool given = std::any_of(call.headers.begin(), call.headers.end(),
                                   [&](const HeaderField& f) { return EqualsIgnoreCase(f.name, name); });
    if (given) continue;
    const std::string line = std::string(name) + ":";
    curl_slist* next = curl_slist_append(header_list_, line.c_str());
    if (next == nullptr) return MakeError(Errc::kInternal, "out of memory");
    header_list_ = next;
  }
  curl_slist* headers = header_list_;
  if (call.access_token != nullptr) {
    // Our own list node in front of curl's, pointing into guarded memory: the header line with
    // the token is never in a std::string or a curl-allocated node.
    const std::string_view token = call.access_token->view();
    auth_used_ = kBearerPrefix.size() + token.size();
    auth_line_ = client_.TakeAuthBuffer(auth_used_ + 1);
    unsigned char* line = auth_line_.bytes().data();
    std::memcpy(line, kBearerPrefix.data(), kBearerPrefix.size());
    std::memcpy(line + kBearerPrefix.size(), token.data(), token.size());
    line[auth_used_] = '\0';
    auth_node_.data = reinterpret_cast<char*>(line);
    auth_node_.next = header_list_;
    headers = &auth_node_;
  }
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers);
  return Status::Ok();
}

Status UpstreamTransfer::Configure(const UpstreamCall& call) {
  const UpstreamClientOptions& options = client_.options_;
  head_timeout_ = call.head_timeout;
  if (Status built = BuildHeaders(call); !built) return built;
  curl_easy_setopt(easy_, CURLOPT_PRIVATE, this);
  curl_easy_setopt(easy_, CURLOPT_URL, call.url.c_str());
  curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(easy_, CURLOPT_SSL_CTX_FUNCTION, &CleanseTlsPlaintext);
  if (!options.ca_file.empty()) curl_easy_setopt(easy_, CURLOPT_CAINFO, options.ca_file.c_str());
  curl_easy_setopt(easy_, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout_ms));
  curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(options.request_timeout_ms));
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &UpstreamTransfer::OnHeader);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &UpstreamTransfer::OnBody);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  const std::string method(call.method);  // curl copies string options
  if (call.method == "HEAD") {
    curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L);
  } else if (call.method != "GET") {
    curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  // A request body (even an empty one) is framed for the methods that carry one, and for any
  // method the caller sent a body with.
  const bool has_body = call.body == nullptr || !call.body->empty() || call.method == "POST" ||
                        call.method == "PUT" || call.method == "PATCH";
  if (has_body && call.method != "HEAD") {
    curl_easy_setopt(easy_, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy_, CURLOPT_READFUNCTION, &UpstreamTransfer::OnUpload);
    curl_easy_setopt(easy_, CURLOPT_READDATA, this);
    if (call.body != nullptr) {
      buffered_body_ = call.body;
      curl_easy_setopt(easy_, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(call.body->size()));
    } else {
      body_finished_ = false;
      curl_easy_setopt(easy_, CURLOPT_INFILESIZE_LARGE,
                       call.streamed_length ? static_cast<curl_off_t>(*call.streamed_length)
                                            : static_cast<curl_off_t>(-1));
    }
    // CURLOPT_UPLOAD sets PUT; restore the caller's method word.
    curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  return Status::Ok();
}

std::size_t UpstreamTransfer::OnHeader(char* data, std::size_t size, std::size_t count,
                                       void* self) {
  auto* transfer = static_cast<UpstreamTransfer*>(self);
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  UpstreamHead& head = transfer->head_;
  if (line.starts_with("HTTP/")) {  // a new response: a 1xx may come before the final one
    head = UpstreamHead{};
    const std::size_t space = line.find(' ');
    if (space != std::string_view::npos && line.size() >= space + 4) {
      std::from_chars(line.data() + space + 1, line.data() + space + 4, head.status);
    }
    return n;
  }
  const std::string_view trimmed = TrimWhitespace(line);
  if (trimmed.empty()) {  // end of this header block
    if (head.status >= 200) {
      transfer->head_done_ = true;
      transfer->Wake();
    }
    return n;
  }
  const std::size_t colon = trimmed.find(':');
  if (colon == std::string_view::npos) return n;  // an obsolete folded line: dropped
  HeaderField field{.name = std::string(trimmed.substr(0, colon)),
                    .value = std::string(TrimWhitespace(trimmed.substr(colon + 1)))};
  if (EqualsIgnoreCase(field.name, "Content-Length")) {
    std::uint64_t length = 0;
    const char* end = field.value.data() + field.value.size();
    if (std::from_chars(field.value.data(), end, length).ptr == end) head.content_length = length;
  }
  head.headers.push_back(std::move(field));
  return n;
}

std::size_t UpstreamTransfer::OnBody(char* data, std::size_t size, std::size_t count, void* self) {
  auto* transfer = static_cast<UpstreamTransfer*>(self);
  const std::size_t n = size * count;
  if (!transfer->received_.empty() &&
      transfer->received_.size() + n > transfer->client_.options_.buffer_bytes) {
    transfer->recv_paused_ = true;  // Read() resumes once the reader has taken the buffer
    return CURL_WRITEFUNC_PAUSE;
  }
  transfer->received_.append(data, n);
  transfer->Wake();
  return n;
}

std::size_t UpstreamTransfer::OnUpload(char* data, std::size_t size, std::size_t count,
                                       void* self) {
  auto* transfer = static_cast<UpstreamTransfer*>(self);
  const std::string& source =
      transfer->buffered_body_ != nullptr ? *transfer->buffered_body_ : transfer->request_body_;
  const std::size_t available = source.size() - transfer->request_offset_;
  if (available == 0) {
    if (transfer->body_finished_) return 0;
    transfer->send_paused_ = true;  // Write() resumes once it has appended more
    return CURL_READFUNC_PAUSE;
  }
  const std::size_t n = std::min(size * count, available);
  std::memcpy(data, source.data() + transfer->request_offset_, n);
  transfer->request_offset_ += n;
  transfer->bytes_sent_ += static_cast<std::int64_t>(n);
  transfer->Wake();
  return n;
}

void UpstreamTransfer::Resume() {
  if (done_ || (!send_paused_ && !recv_paused_)) return;
  const bool keep_send_paused =
      send_paused_ && request_offset_ == request_body_.size() && !body_finished_;
  const bool keep_recv_paused = recv_paused_ && !received_.empty();
  send_paused_ = keep_send_paused;
  recv_paused_ = keep_recv_paused;
  const int mask =
      (keep_send_paused ? CURLPAUSE_SEND : 0) | (keep_recv_paused ? CURLPAUSE_RECV : 0);
  // May call OnBody at once with the bytes curl held back; it pauses again if they do not fit.
  curl_easy_pause(easy_, mask);
}

void UpstreamTransfer::Finish(CURLcode code) {
  if (done_) return;
  done_ = true;
  result_ = code;
  client_.Release(*this);
  Wake();
}

Status UpstreamTransfer::Failure() const {
  if (result_ == CURLE_ABORTED_BY_CALLBACK) {
    return Unavailable("the call was aborted");
  }
  return TransportError(result_);
}

asio::awaitable<void> UpstreamTransfer::Wait(asio::steady_timer::time_point deadline) {
  signal_.expires_at(deadline);
  boost::system::error_code ignored;
  co_await signal_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

asio::awaitable<Result<UpstreamHead>> UpstreamTransfer::Head() {
  const bool bounded = head_timeout_.count() > 0;
  const auto deadline = bounded ? std::chrono::steady_clock::now() + head_timeout_
                                : asio::steady_timer::time_point::max();
  while (!head_done_ && !done_) {
    if (std::chrono::steady_clock::now() >= deadline) {
      // Taking the handle out of the multi ends the call; curl closes its connection, which
      // may still carry the late answer, instead of pooling it.
      Finish(CURLE_OPERATION_TIMEDOUT);
      break;
    }
    co_await Wait(deadline);
  }
  if (head_done_) co_return head_;
  if (result_ == CURLE_OK) co_return MakeError(Errc::kUpstreamError, "workspace sent no response");
  co_return Failure().error();
}

asio::awaitable<Status> UpstreamTransfer::Read(std::string& out) {
  out.clear();
  while (received_.empty() && !done_) {
    Resume();
    if (received_.empty()) co_await Wait();
  }
  if (!received_.empty()) {
    out.swap(received_);
    Resume();  // curl refills received_ while the caller writes `out`
    co_return Status::Ok();
  }
  if (result_ == CURLE_OK) co_return Status::Ok();
  co_return Failure();
}

asio::awaitable<Status> UpstreamTransfer::Write(const std::string& data) {
  while (!done_ && request_body_.size() - request_offset_ >= client_.options_.buffer_bytes) {
    co_await Wait();
  }
  if (done_)
    co_return result_ == CURLE_OK
        ? Status(MakeError(Errc::kUpstreamError, "workspace answered early"))
        : Failure();
  if (request_offset_ > 0) {  // drop what curl has already sent
    request_body_.erase(0, request_offset_);
    request_offset_ = 0;
  }
  request_body_.append(data);
  Resume();
  co_return Status::Ok();
}

void UpstreamTransfer::FinishBody() {
  body_finished_ = true;
  Resume();
}

}  // namespace dbproxy
