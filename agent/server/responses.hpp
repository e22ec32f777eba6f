// Building HTTP responses: JSON bodies and the one error shape of both sockets.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "agent/server/http_server.hpp"
#include "common/audit/audit_record.hpp"
#include "common/core/result.hpp"
#include "common/core/secret_bytes.hpp"

namespace dbproxy {

HttpResponse JsonResponse(http::status status, const nlohmann::json& body);
// A 200 JSON object whose first member is "access_token": the token is written straight from
// guarded memory into the (later wiped) response body, never into a JSON DOM string.
// REQUIRES: `rest` is a JSON object.
HttpResponse TokenResponse(const SecretBytes& access_token, const nlohmann::json& rest);

// Status and body from ToHttpError/ErrorBody; Retry-After when the error carries one.
HttpResponse ErrorResponse(const Error& error, const std::string& request_id);
// ErrorResponse for the request of `context`; `error`'s wire code is noted in the request's audit
// record (context.audit, when a handler has begun one), so the record's code comes from the
// Error itself, never from the answer's body.
HttpResponse ErrorResponse(const Error& error, const RequestContext& context);

// An audit record pre-filled with the caller's identity and the request line.
AuditRecord BeginAuditFor(const char* socket, std::string_view method, std::string_view target,
                          const RequestContext& context);
// BeginAuditFor, plus the size of the (whole, already read) request body.
AuditRecord BeginAudit(const char* socket, const HttpRequest& request,
                       const RequestContext& context);
// Completes `record` with the outcome: the status and body size of `response`, the elapsed
// time, the decision ("allow" below 400, else "error", unless already set) and the error code,
// which is the wire code of `error` when one is given (else the one ErrorResponse noted).
void FinishAudit(AuditRecord& record, const HttpResponse& response, const RequestContext& context,
                 const Error* error = nullptr);


}  // namespace dbproxy
