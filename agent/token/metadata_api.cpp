#include "agent/token/metadata_api.hpp"

#include <algorithm>

#include "agent/audit/audit_commit.hpp"
#include "agent/clock.hpp"
#include "agent/identity/caller_jwt.hpp"
#include "agent/identity/caller_saml.hpp"
#include "agent/server/responses.hpp"
#include "agent/token/client_api.hpp"
#include "common/calls/http_target.hpp"
#include "common/oauth/oauth.hpp"

namespace dbproxy {
namespace {

// The SDKs refresh ahead of expiry (JS when under 40 s remain, Go at min(TTL/2, 20 min)): never
// hand out less than this.
constexpr int kMetadataMinTtlSeconds = 60;

constexpr char kVersionHeader[] = "X-Databricks-Metadata-Version";
constexpr char kHostHeader[] = "X-Databricks-Host";

// The workspace an SDK means by its host: the service's default when it is enrolled with that
// host, else the only workspace enrolled with it.
Result<std::string> WorkspaceFor(const AgentState& state, const std::string& host,
                                 const Service& service) {
  const std::vector<std::string> names = state.store->WorkspacesAt(host);
  if (names.empty()) {
    return MakeError(Errc::kUnknownWorkspace, "no workspace is enrolled with host " + host);
  }
  if (std::find(names.begin(), names.end(), service.workspace) != names.end()) {
    return service.workspace;
  }
  if (names.size() == 1) return names.front();
  return MakeError(Errc::kUnknownWorkspace,
                   "several workspaces are enrolled with host " + host + " and service '" +
                       service.name + "' names none of them as its workspace");
}

// The version header's refusal, built outside the coroutine (g++ 12 -O2 reports a false
// -Warray-bounds for string concatenation inside coroutine frames).
Error UnsupportedVersion(std::string_view version) {
  std::string message = kVersionHeader;
  if (version.empty()) {
    message += " is missing";
  } else {
    message += ' ';
    message += version;
    message += " is not supported (this agent speaks version 1)";
  }
  return MakeError(Errc::kInvalidRequest, std::move(message));
}

asio::awaitable<HttpResponse> IssueMetadataToken(AgentState& state, const HttpRequest& request,
                                                 const RequestContext& context,
                                                 AuditRecord& audit) {
  const std::string_view version = request[kVersionHeader];
  if (version != "1") co_return ErrorResponse(UnsupportedVersion(version), context);
  if (request.count(kHostHeader) != 1) {
    co_return ErrorResponse(
        MakeError(Errc::kInvalidRequest, "X-Databricks-Host must be given once"), context);
  }
  Result<std::string> host = NormalizeWorkspaceHost(request[kHostHeader]);
  if (!host) co_return ErrorResponse(host.error(), context);
  // Held across the broker's co_await: a reload must not free what this request decided on.
  const PinnedPolicy pinned = PinPolicy(state);
  Result<const Service*> service = IdentifyService(pinned, context, audit);
  if (!service) co_return ErrorResponse(service.error(), context);
  Result<std::string> workspace = WorkspaceFor(state, *host, **service);
  if (!workspace) co_return ErrorResponse(workspace.error(), context);
  audit.workspace = *workspace;
  Result<std::string> scope = (*service)->metadata_scope.empty()
                                  ? DefaultTokenScope(*pinned.enforced, **service)
                                  : Result<std::string>((*service)->metadata_scope);
  if (!scope) {
    audit.decision = "deny";
    audit.rule = scope.error().rule;
    co_return ErrorResponse(scope.error(), context);
  }
  const int min_ttl = std::max(state.config.tokens.min_ttl_seconds, kMetadataMinTtlSeconds);
  Result<std::shared_ptr<const IssuedToken>> token =
      co_await DecideToken(state, pinned, context, *workspace, *scope, min_ttl, audit);
  if (!token) co_return ErrorResponse(token.error(), context);
  const IssuedToken& issued = **token;
  co_return TokenResponse(issued.access_token,
                         {{"token_type", "Bearer"}, {"expires_on", issued.expires_at}});
}

}  // namespace

asio::awaitable<HttpResponse> HandleLoopbackRequest(AgentState& state, HttpRequest& request,
                                                    RequestContext& context) {
  AuditRecord audit = BeginAudit(context.socket, request, context);
  context.audit = &audit;
  const std::string_view path = SplitRequestTarget(request.target()).path;
  HttpResponse response;
  bool releases = false;
  if (path == "/healthz") {
    audit.action = "healthz";
    response = request.method() == http::verb::get
                   ? JsonResponse(http::status::ok, {{"status", "ok"}})
                   : ErrorResponse(MakeError(Errc::kMethodNotAllowed, "use GET"), context);
  } else if (path != kMetadataPath) {
    audit.action = "unknown";
    response = ErrorResponse(
        MakeError(Errc::kNotFound, "the loopback listener serves GET /metadata/token, /healthz "
                                   "and proxy mode (/api/..., /w/<workspace>/api/...)"),
        context);
    // The JS SDK reads a 404 from its metadata URL as "not configured" and never reads the
    // body: on a kept-alive connection it would wait forever. Close it.
    response.keep_alive(false);
  } else if (Status admitted = AdmitAudited(state); !admitted) {
    audit.action = "metadata";
    response = ErrorResponse(admitted.error(), context);
  } else if (request.method() != http::verb::get) {
    audit.action = "metadata";
    response = ErrorResponse(MakeError(Errc::kMethodNotAllowed, "use GET"), context);
  } else {
    audit.action = "metadata";
    CallerJwt caller_jwt;    // context.jwt points here while the request runs
    CallerSaml caller_saml;  // context.saml likewise
    Status identified = co_await IdentifyCallerJwt(state, request, TokenPlace::kAgentEndpoint,
                                                   caller_jwt, context, audit);
    if (identified) identified = IdentifyCallerSaml(state, request, caller_saml, context, audit);
    if (identified) {
      response = co_await IssueMetadataToken(state, request, context, audit);
      releases = response.result() == http::status::ok;
    } else {
      response = ErrorResponse(identified.error(), context);
    }
    context.jwt = nullptr;  // caller_jwt and caller_saml end with this block
    context.saml = nullptr;
  }
  co_await FinishClientAnswer(state, audit, response, context, releases);
  co_return response;
}

}  // namespace dbproxy
