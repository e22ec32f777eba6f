#include "agent/server/responses.hpp"

#include "agent/clock.hpp"
#include "agent/log.hpp"
#include "common/core/error_mapping.hpp"
#include "common/calls/http_target.hpp"

namespace dbproxy {

HttpResponse JsonResponse(http::status status, const nlohmann::json& body) {
  HttpResponse response(status, 11);
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  response.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

HttpResponse TokenResponse(const SecretBytes& access_token, const nlohmann::json& rest) {
  const std::string tail = rest.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  HttpResponse response(http::status::ok, 11);
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  std::string& body = response.body();
  // Worst case every byte becomes \u00XX: reserve it all so no reallocation leaves a copy.
  body.reserve(20 + access_token.size() * 6 + tail.size());
  body += "{\"access_token\":\"";
  for (const char c : access_token.view()) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      body += '\\';
      body += c;
    } else if (byte < 0x20 || byte >= 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      body += "\\u00";
      body += kHex[byte >> 4];
      body += kHex[byte & 0xf];
    } else {
      body += c;
    }
  }
  body += '"';
  if (tail.size() > 2) body += ',';
  body.append(tail, 1, std::string::npos);  // drop the tail's own '{'
  return response;
}

HttpResponse ErrorResponse(const Error& error, const std::string& request_id) {
  const HttpError mapped = ToHttpError(error.code);
  // The caller gets `message`; what only the operator may see (URLs, errno and curl texts) goes
  // to the log here, the one place every error answer passes through.
  if (!error.log_detail.empty()) {
    Log(mapped.status >= 500 ? LogLevel::kWarning : LogLevel::kInfo,
        "request " + request_id + ": " + std::string(mapped.code) + ": " + error.log_detail);
  }
  HttpResponse response(static_cast<http::status>(mapped.status), 11);
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  if (error.retry_after_seconds > 0) {
    response.set(http::field::retry_after, std::to_string(error.retry_after_seconds));
  }
  response.body() = ErrorBody(error, request_id);
  return response;
}

HttpResponse ErrorResponse(const Error& error, const RequestContext& context) {
  if (context.audit != nullptr) context.audit->error_code = std::string(ToHttpError(error.code).code);
  return ErrorResponse(error, context.request_id);
}

AuditRecord BeginAuditFor(const char* socket, std::string_view method, std::string_view target,
                          const RequestContext& context) {
  const CallerIdentity& id = context.peer.identity();
  AuditRecord record;
  record.time_us = NowUnixMicros();
  record.request_id = context.request_id;
  record.socket = socket;
  record.pid = id.pid;
  record.uid = id.uid;
  record.gid = id.gid;
  record.user = id.user;
  record.exe = id.exe;
  record.unit = id.unit;
  record.method = std::string(method);
  const SplitTarget split = SplitRequestTarget(target);
  record.path = std::string(split.path);
  record.query = std::string(split.query);  // FormatAuditRecord drops sensitive values
  return record;
}

AuditRecord BeginAudit(const char* socket, const HttpRequest& request,
                       const RequestContext& context) {
  AuditRecord record = BeginAuditFor(socket, request.method_string(), request.target(), context);
  record.bytes_in = static_cast<std::int64_t>(request.body().size());
  return record;
}

void FinishAudit(AuditRecord& record, const HttpResponse& response, const RequestContext& context,
                 const Error* error) {
  record.status = response.result_int();
  record.bytes_out = static_cast<std::int64_t>(response.body().size());
  if (record.decision.empty()) record.decision = response.result_int() < 400 ? "allow" : "error";
  if (error != nullptr) record.error_code = std::string(ToHttpError(error->code).code);
  record.latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - context.started)
                          .count();
}

}  // namespace dbproxy
