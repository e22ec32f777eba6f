// The one place an Errc becomes an HTTP status and a wire error code.
#pragma once

#include <string>
#include <string_view>

#include "common/core/result.hpp"

namespace dbproxy {

struct HttpError {
  int status = 500;
  std::string_view code;  // static string, e.g. "policy_denied"
};

HttpError ToHttpError(Errc code) noexcept;

// The JSON body for an error: {"error":{"code","message","rule"?,"request_id"?}}.
std::string ErrorBody(const Error& error, std::string_view request_id);

// The Databricks REST error code closest to `code` ("PERMISSION_DENIED",
// "INVALID_PARAMETER_VALUE", "TEMPORARILY_UNAVAILABLE", ...): always a string, never the
// numeric auth-layer codes, so a client never mistakes the agent's refusal for a bad token.
std::string_view DatabricksErrorCode(Errc code) noexcept;

// The body of an error the agent answers in proxy mode, where the caller is a Databricks client:
// the Databricks shape the SDKs read, {"error_code": <string>, "message": "dbproxy: <message>"},
// so an SDK shows the agent's reason instead of raw JSON. `sdk_only` (the loopback listener,
// where unmodified SDKs call): ErrorBody's object goes under "dbproxy" instead of "error",
// because the SDKs take a top-level "error" for the old API 1.2 message string (the JS SDK then
// fails on an object). Otherwise (agent.sock) both: {"error": {...}, "error_code", "message"}.
std::string ProxyErrorBody(const Error& error, std::string_view request_id, bool sdk_only);

}  // namespace dbproxy
