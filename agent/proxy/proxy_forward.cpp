#include "agent/proxy/proxy_forward.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>

#include <nlohmann/json.hpp>

#include "agent/log.hpp"
#include "agent/server/responses.hpp"
#include "common/core/error_mapping.hpp"
#include "common/core/text.hpp"

namespace dbproxy {
namespace {

// An auth-layer error body is a short JSON object; a longer 401/403 body is passed on as is.
constexpr std::size_t kAuthErrorBodyLimit = 64 * 1024;
constexpr std::size_t kRequestChunk = 64 * 1024;

bool IsIdempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE";
}

// Databricks' auth layer answers with a numeric error_code (401 no credential, 403 invalid or
// expired token); application errors use string codes ("PERMISSION_DENIED") and must not cost a
// token renewal.
bool IsAuthLayerError(int status, const std::string& body) {
  if (status != 401 && status != 403) return false;
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object()) return false;
  const auto code = json.find("error_code");
  return code != json.end() && code->is_number_integer() &&
         (code->get<int>() == 401 || code->get<int>() == 403);
}

// The longest wait_timeout the SQL Statement Execution API takes ("0s", "5s".."50s").
constexpr int kMaxStatementWaitSeconds = 50;

// The wait a SQL statement submission the workspace to hold its answer back for, in seconds:
// its "wait_timeout" ("<n>s"), capped at kMaxStatementWaitSeconds; 0 when there is none. The
// body (buffered because the policy inspects statements) already passed the strict parse that
// refuses repeated keys, so this reading is the policy's.
int StatementWaitSeconds(const ProxyForward& call) {
  const std::string_view path = std::string_view(call.target).substr(0, call.target.find('?'));
  if (call.method != "POST" || !path.starts_with("/api/2.0/sql/statements") || !call.body ||
      call.body->find("wait_timeout") == std::string::npos) {
    return 0;
  }
  const nlohmann::json json = nlohmann::json::parse(*call.body, nullptr, false);
  if (!json.is_object()) return 0;
  const auto wait = json.find("wait_timeout");
  if (wait == json.end() || !wait->is_string()) return 0;
  const std::string& text = wait->get_ref<const std::string&>();
  int seconds = 0;
  const char* end = text.data() + text.size();
  const auto [next, ec] = std::from_chars(text.data(), end, seconds);
  if (ec != std::errc() || next + 1 != end || *next != 's' || seconds < 0) return 0;
  return std::min(seconds, kMaxStatementWaitSeconds);
}

// How long the workspace may take to start its answer once it has the whole request:
// [upstream] timeout_ms, plus the wait a SQL statement asked for (Databricks holds that answer
// back on purpose, up to 50 s). [proxy] request_timeout_ms still bounds the whole call.
std::chrono::milliseconds HeadTimeout(const AgentConfig& config, const ProxyForward& call) {
  return std::chrono::milliseconds(config.upstream.timeout_ms) +
         std::chrono::seconds(StatementWaitSeconds(call));
}

std::int64_t MicrosSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

// Streams the caller's request body into `transfer`. Errors only for the caller's side (a body
// over the cap, a broken body); when the workspace ends the call early, stops and returns Ok
// (its answer is what the caller gets). Sets `consumed` once the body was read to its end.
asio::awaitable<Status> SendCallerBody(StreamedRequest& exchange, UpstreamTransfer& transfer,
                                       std::int64_t max_body, AuditRecord& audit, bool& consumed) {
  co_await ContinueIfExpected(exchange);
  http::request_parser<http::buffer_body> parser(std::move(exchange.parser));
  if (max_body > 0) {
    parser.body_limit(static_cast<std::uint64_t>(max_body));
  } else {
    parser.body_limit(boost::none);
  }
  std::string chunk(kRequestChunk, '\0');
  std::string piece;
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    boost::system::error_code ec;
    exchange.deadline.Arm(exchange.request_timeout, ConnectionDeadline::OnExpiry::kClose);
    co_await http::async_read(exchange.stream, exchange.buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    exchange.deadline.Disarm();
    if (ec == http::error::need_buffer) ec = {};
    if (ec == http::error::body_limit) {
      co_return MakeError(Errc::kPayloadTooLarge,
                          "request body is larger than [proxy] "
                          "max_request_body (" +
                              std::to_string(max_body) + " bytes)");
    }
    if (ec) co_return MakeError(Errc::kInvalidRequest, "cannot read the request body");
    piece.assign(chunk.data(), chunk.size() - parser.get().body().size);
    audit.bytes_in += static_cast<std::int64_t>(piece.size());
    if (!piece.empty()) {
      Status written = co_await transfer.Write(piece);
      if (!written) co_return Status::Ok();  // the workspace has answered or failed: see Head()
    }
  }
  consumed = true;
  transfer.FinishBody();
  co_return Status::Ok();
}

// Starts the call, sends the body and waits for the workspace's status and headers.
asio::awaitable<Result<UpstreamHead>> Call(AgentState& state, UpstreamClient& client,
                                           StreamedRequest& exchange,
                                           const ProxyForward& call, const IssuedToken& token,
                                           std::unique_ptr<UpstreamTransfer>& transfer,
                                           AuditRecord& audit, bool& consumed) {
  UpstreamCall upstream{.method = call.method,
                        .url = token.host + call.target,
                        .headers = call.headers,
                        .access_token = &token.access_token,
                        .body = call.body ? &*call.body : nullptr,
                        .streamed_length = {},
                        .head_timeout = HeadTimeout(state.config, call)};
  if (!call.body) {
    if (auto length = exchange.parser.content_length()) upstream.streamed_length = *length;
  }
  const auto started_at = std::chrono::steady_clock::now();
  Result<std::unique_ptr<UpstreamTransfer>> started = client.Start(upstream);
  if (!started) co_return started.error();
  transfer = std::move(*started);
  if (call.body) {
    audit.bytes_in = static_cast<std::int64_t>(call.body->size());
  } else {
    Status sent = co_await SendCallerBody(exchange, *transfer, state.config.proxy.max_request_body,
                                          audit, consumed);
    if (!sent) co_return std::move(sent).error();
  }
  Result<UpstreamHead> head = co_await transfer->Head();
  audit.upstream_latency_us = MicrosSince(started_at);
  co_return head;
}

// Reads the response body into `out` until its end or until `out` holds `limit` bytes.
asio::awaitable<Status> ReadUpTo(UpstreamTransfer& transfer, std::size_t limit, std::string& out) {
  std::string piece;
  while (out.size() < limit && !transfer.complete()) {
    Status read = co_await transfer.Read(piece);
    if (!read) co_return read;
    if (piece.empty()) break;
    out += piece;
  }
  co_return Status::Ok();
}

http::response<http::buffer_body> ResponseHead(const StreamedRequest& exchange,
                                               const UpstreamHead& head, AuditRecord& audit) {
  http::response<http::buffer_body> response{static_cast<http::status>(head.status), 11};
  bool has_databricks_id = false;
  for (const HeaderField& field : ResponseHeadersToReturn(head.headers)) {
    // X-Request-Id is the agent's own id on every answer; the workspace's travels as
    // x-databricks-request-id.
    if (EqualsIgnoreCase(field.name, "X-Request-Id")) continue;
    has_databricks_id = has_databricks_id || EqualsIgnoreCase(field.name, "x-databricks-request-id");
    response.insert(field.name, field.value);
  }
  audit.databricks_request_id = std::string(DatabricksRequestId(head.headers));
  if (!has_databricks_id && !audit.databricks_request_id.empty()) {
    response.set("x-databricks-request-id", audit.databricks_request_id);
  }
  response.set("X-Request-Id", exchange.context.request_id);
  return response;
}

// Writes the workspace's answer: head, `pending` body bytes already read, then the rest as it
// arrives. Returns whether the connection may be reused.
asio::awaitable<bool> Relay(StreamedRequest& exchange, UpstreamTransfer& transfer,
                            const UpstreamHead& head, const ProxyForward& call,
                            std::string& pending, bool keep_alive, AuditRecord& audit) {
  http::response<http::buffer_body> response = ResponseHead(exchange, head, audit);
  response.keep_alive(keep_alive && !exchange.closing);
  audit.status = head.status;
  const bool no_body = call.method == "HEAD" || head.status == 204 || head.status == 304;
  if (head.content_length) {
    response.content_length(*head.content_length);
  } else if (!no_body) {
    response.chunked(true);
  }
  http::response_serializer<http::buffer_body> serializer(response);
  boost::system::error_code ec;
  if (no_body) {
    exchange.deadline.Arm(exchange.request_timeout, ConnectionDeadline::OnExpiry::kClose);
    co_await http::async_write_header(exchange.stream, serializer,
                                      asio::redirect_error(asio::use_awaitable, ec));
    exchange.deadline.Disarm();
    co_return !ec && response.keep_alive();
  }
  for (;;) {
    if (pending.empty() && !transfer.complete()) {
      Status read = co_await transfer.Read(pending);
      if (!read) {  // cut short: the caller must not take a truncated body for a whole one
        audit.error_code = "upstream_error";
        Log(LogLevel::kWarning, "request " + exchange.context.request_id +
                                    ": workspace answer cut short: " + read.error().log_detail);
        co_return false;
      }
    }
    const bool last = pending.empty() || transfer.complete();
    response.body().data = pending.empty() ? nullptr : pending.data();
    response.body().size = pending.size();
    response.body().more = !last;
    exchange.deadline.Arm(exchange.request_timeout, ConnectionDeadline::OnExpiry::kClose);
    co_await http::async_write(exchange.stream, serializer,
                               asio::redirect_error(asio::use_awaitable, ec));
    exchange.deadline.Disarm();
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return false;  // the caller went away; destroying the transfer aborts the call
    audit.bytes_out += static_cast<std::int64_t>(pending.size());
    pending.clear();
    if (last) break;
  }
  co_return response.keep_alive();
}

}  // namespace

asio::awaitable<void> ContinueIfExpected(StreamedRequest& exchange) {
  if (!beast::iequals(exchange.parser.get()[http::field::expect], "100-continue")) co_return;
  http::response<http::empty_body> interim{http::status::continue_, 11};
  exchange.deadline.Arm(exchange.request_timeout, ConnectionDeadline::OnExpiry::kClose);
  boost::system::error_code ignored;  // a failure shows up on the body read that follows
  co_await http::async_write(exchange.stream, interim,
                             asio::redirect_error(asio::use_awaitable, ignored));
  exchange.deadline.Disarm();
}

asio::awaitable<bool> AnswerError(StreamedRequest& exchange, const Error& error, AuditRecord& audit,
                                  bool keep_alive) {
  HttpResponse response = ErrorResponse(error, exchange.context.request_id);
  // The caller is a Databricks client: the body also carries the shape its SDK reads.
  const bool sdk_only = std::string_view(exchange.context.socket) == "loopback";
  response.body() = ProxyErrorBody(error, exchange.context.request_id, sdk_only);
  FinishAudit(audit, response, exchange.context, &error);
  co_return co_await WriteWholeResponse(exchange, response, keep_alive);
}

asio::awaitable<bool> ForwardToWorkspace(AgentState& state, UpstreamClient& upstream,
                                         StreamedRequest& exchange, const ProxyForward& call,
                                         AuditRecord& audit) {
  const int min_ttl = state.config.tokens.min_ttl_seconds;
  bool consumed = call.body.has_value();
  Result<std::shared_ptr<const IssuedToken>> token =
      co_await state.broker->Get(call.token_key, min_ttl);
  if (!token) {
    const Error error = token.error();
    co_return co_await AnswerError(exchange, error, audit, call.keep_alive && consumed);
  }
  std::unique_ptr<UpstreamTransfer> transfer;
  Result<UpstreamHead> head =
      co_await Call(state, upstream, exchange, call, **token, transfer, audit, consumed);
  std::string pending;
  if (head && (head->status == 401 || head->status == 403)) {
    Status read = co_await ReadUpTo(*transfer, kAuthErrorBodyLimit, pending);
    if (read && transfer->complete() && IsAuthLayerError(head->status, pending)) {
      Log(LogLevel::kInfo, "request " + exchange.context.request_id + ": workspace '" +
                               call.token_key.workspace + "' refused the token of '" +
                               call.token_key.credential + "' (HTTP " +
                               std::to_string(head->status) + "); renewing it");
      Result<std::shared_ptr<const IssuedToken>> renewed =
          co_await state.broker->Renew(call.token_key, token->get(), min_ttl);
      if (renewed && call.body && IsIdempotent(call.method)) {
        transfer.reset();
        pending.clear();
        token = std::move(renewed);
        audit.attributes.emplace_back("retry",
                                      "token renewed after HTTP " + std::to_string(head->status));
        Result<UpstreamHead> retried =
            co_await Call(state, upstream, exchange, call, **token, transfer, audit, consumed);
        head = std::move(retried);
      }
    }
  }
  if (!head) {
    const Error error = head.error();
    co_return co_await AnswerError(exchange, error, audit, call.keep_alive && consumed);
  }
  audit.upstream_status = head->status;
  co_return co_await Relay(exchange, *transfer, *head, call, pending, call.keep_alive && consumed,
                           audit);
}

}  // namespace dbproxy
