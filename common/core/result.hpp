// Result<T> and Status: the value-or-error types every fallible call in dbproxy returns.
//
// A subset of std::expected (absent from g++ 12) with the same method names, so the move to
// std::expected is mechanical. Expected failures travel as values; exceptions are reserved for
// bugs, OOM and start-up.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace dbproxy {

// Protocol-neutral error codes. Each maps to exactly one HTTP status and wire code in
// error_mapping.hpp; nothing else in the code base decides a status.
enum class Errc {
  kInvalidRequest,       // malformed input from the caller
  kUnidentified,         // the caller matches no service
  kUnauthenticated,      // the service requires a verified identity token the caller lacks
  kInvalidIdentity,      // the caller presented an identity token that does not verify
  kIdentityUnavailable,  // an identity provider's keys cannot be fetched and none are cached
  kPolicyDenied,         // a service matched but policy does not allow the action
  kForbidden,            // the caller may not use this socket at all (admin API)
  kUnknownWorkspace,     // no workspace is enrolled with the host a client named
  kNotFound,             // no such route or object
  kMethodNotAllowed,     // route exists, method does not
  kConflict,             // the request contradicts existing state
  kPayloadTooLarge,      // a header or body exceeds its cap
  kRequestTimeout,       // a request began but did not arrive whole in time
  kRateLimited,          // too many requests
  kMaintenance,          // access switched off by an operator
  kAuditUnavailable,     // a required audit sink cannot be written (fail-closed)
  kInvalidCredential,    // the workspace rejected a credential
  kUpstreamUnavailable,  // the workspace cannot be reached or said 429/503
  kUpstreamError,        // the workspace answered with something unusable
  kUpstreamTimeout,      // the workspace did not answer in time
  kCorrupt,              // stored state failed integrity checks
  kInternal,             // a bug or an unexpected local failure
};

struct Error {
  Errc code = Errc::kInternal;
  // Safe to show to the caller: no secret, no internal path, no other user's data.
  std::string message;
  // For the local log only (never sent to a client). May name files and errno texts.
  std::string log_detail;
  // The policy rule or role that decided, when there is one.
  std::string rule;
  // Seconds the caller should wait before retrying; 0 means no Retry-After header.
  int retry_after_seconds = 0;
};

inline Error MakeError(Errc code, std::string message, std::string log_detail = {}) {
  return Error{.code = code,
               .message = std::move(message),
               .log_detail = std::move(log_detail),
               .rule = {},
               .retry_after_seconds = 0};
}

// The usual error for bad input: kInvalidRequest with a message safe to show the client.
inline Error InvalidRequest(std::string message) {
  return MakeError(Errc::kInvalidRequest, std::move(message));
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // REQUIRES: has_value().
  T& value() & { assert(has_value()); return std::get<0>(state_); }
  const T& value() const& { assert(has_value()); return std::get<0>(state_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !has_value().
  const Error& error() const& { assert(!has_value()); return std::get<1>(state_); }
  Error&& error() && { assert(!has_value()); return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit
  static Status Ok() { return Status(); }

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  // REQUIRES: !ok().
  const Error& error() const& { assert(!ok_); return error_; }
  Error&& error() && { assert(!ok_); return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace dbproxy
