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

}  // namespace dbproxy
