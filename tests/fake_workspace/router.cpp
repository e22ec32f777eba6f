#include "tests/fake_workspace/router.hpp"

#include <string>

#include "tests/fake_workspace/control.hpp"
#include "tests/fake_workspace/encoding.hpp"
#include "tests/fake_workspace/oauth/fake_idp.hpp"
#include "tests/fake_workspace/oauth/oauth_endpoints.hpp"
#include "tests/fake_workspace/api/rest_api.hpp"
#include "tests/fake_workspace/api/sql_api.hpp"

namespace dbproxy::fake {
namespace {

constexpr std::string_view kTokenPath = "/oidc/v1/token";

bool IsTokenPath(std::string_view path) {
  return path == kTokenPath;
}
bool IsApiPath(std::string_view path) {
  return path.starts_with("/api/");
}
bool IsControlPath(std::string_view path) {
  return path.starts_with("/_fake/");
}

std::optional<Fault> TakeFault(std::deque<Fault>& queue) {
  if (queue.empty()) return std::nullopt;
  Fault fault = queue.front();
  if (--queue.front().remaining <= 0) queue.pop_front();
  return fault;
}

}  // namespace

bool ParseTarget(FakeRequest& request) {
  const std::size_t question = request.target.find('?');
  request.path = request.target.substr(0, question);
  if (question == std::string::npos) return true;
  auto query = ParseForm(std::string_view(request.target).substr(question + 1));
  if (!query) return false;
  request.query = std::move(*query);
  return true;
}

std::optional<Fault> AdmitRequest(const FakeRequest& request, WorkspaceState& state) {
  if (IsControlPath(request.path)) return std::nullopt;
  LoggedRequest logged{.method = request.method,
                       .target = request.target,
                       .headers = request.headers,
                       .body_bytes = request.body.size()};
  if (request.body.size() <= WorkspaceState::kLoggedBodyLimit) logged.body = request.body;
  state.request_log.push_back(std::move(logged));
  if (state.request_log.size() > WorkspaceState::kRequestLogLimit) state.request_log.pop_front();
  if (IsTokenPath(request.path)) {
    ++state.counters.token_requests;
    return TakeFault(state.token_faults);
  }
  if (IsApiPath(request.path)) {
    ++state.counters.api_requests;
    return TakeFault(state.api_faults);
  }
  return std::nullopt;
}

std::optional<std::size_t> TakeUploadDrop(std::string_view path, WorkspaceState& state) {
  const std::string_view bare = path.substr(0, path.find('?'));
  if (!IsApiPath(bare) || state.api_faults.empty() ||
      !state.api_faults.front().drop_after_request_bytes) {
    return std::nullopt;
  }
  ++state.counters.api_requests;
  return TakeFault(state.api_faults)->drop_after_request_bytes;
}

FakeReply FaultReply(const FakeRequest& request, const Fault& fault) {
  FakeReply reply;
  if (fault.body) {
    reply = JsonReply(fault.status, *fault.body);
  } else if (IsTokenPath(request.path)) {
    reply = OAuthError(fault.status, "temporarily_unavailable",
                       "The authorization server is temporarily unavailable (injected fault)");
  } else {
    const char* code = fault.status == 429   ? "REQUEST_LIMIT_EXCEEDED"
                       : fault.status == 503 ? "TEMPORARILY_UNAVAILABLE"
                                             : "INTERNAL_ERROR";
    reply = ApiError(fault.status, code, "Injected fault");
  }
  if (fault.retry_after_seconds) {
    reply.headers.emplace_back("Retry-After", std::to_string(*fault.retry_after_seconds));
  }
  return reply;
}

FakeReply RouteRequest(const FakeRequest& request, WorkspaceState& state) {
  const std::string_view path = request.path;
  if (IsApiPath(path)) return HandleApiRequest(request, state);
  if (IsControlPath(path)) return HandleControlRequest(request, state);
  if (IsTokenPath(path)) {
    if (request.method != "POST") {
      FakeReply reply = OAuthError(405, "invalid_request", "Use POST");
      reply.headers.emplace_back("Allow", "POST");
      return reply;
    }
    return HandleTokenRequest(request, state);
  }
  if (path.starts_with("/fake-storage/")) return HandleExternalResult(request, state);
  if (IsIdpPath(path)) return HandleIdpRequest(request, state);
  if (request.method == "GET" && path == "/oidc/.well-known/oauth-authorization-server") {
    return HandleOAuthDiscovery(state);
  }
  // Includes /.well-known/databricks-config, which this workspace does not serve: clients must
  // treat the 404 as "not available" and fall back to /oidc discovery.
  return ApiError(404, "NOT_FOUND", "Not Found");
}

}  // namespace dbproxy::fake
