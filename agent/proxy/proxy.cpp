#include "agent/proxy/proxy.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>

#include <nlohmann/json.hpp>

#include "agent/audit/audit_commit.hpp"
#include "agent/clock.hpp"
#include "agent/identity/caller_jwt.hpp"
#include "agent/identity/caller_saml.hpp"
#include "agent/log.hpp"
#include "agent/proxy/proxy_forward.hpp"
#include "agent/server/responses.hpp"
#include "agent/token/client_api.hpp"
#include "common/calls/http_target.hpp"
#include "common/calls/proxy_route.hpp"
#include "common/calls/request_body.hpp"

namespace dbproxy {
namespace {

// Proxied calls use one all-apis token per (workspace, credential): the agent enforces the
// call-level policy itself and the token never leaves the agent, so a narrower scope would only
// multiply grants without narrowing what a caller can do.
constexpr char kProxyScope[] = "all-apis";

// What the checks before the decision collect. Holds the policies the call decides against,
// so that a reload while the body is read frees nothing the call uses.
struct PendingCall {
  PinnedPolicy pinned{};
  ProxyRoute route{};
  BodyFacts body_facts{};
  std::optional<std::string> body{};  // read when inspected or empty
  bool body_consumed = false;
  // Copied from the header before a body read moves the parser.
  std::string method{};
  std::vector<HeaderField> caller_headers{};
};

std::vector<HeaderField> CallerHeaders(const http::request<http::empty_body>& header) {
  std::vector<HeaderField> fields;
  fields.reserve(16);
  for (const auto& field : header) {
    fields.push_back(
        {.name = std::string(field.name_string()), .value = std::string(field.value())});
  }
  return fields;
}

AuditRecord BeginProxyAudit(const http::request<http::empty_body>& header,
                            const RequestContext& context) {
  return BeginAuditFor(context.socket, header.method_string(), header.target(), context);
}

// Service and route: everything known from the header alone. The service is matched here
// only for its default workspace; DecideCall decides against the same pinned policy.
Status Identify(AgentState& state, const StreamedRequest& exchange, AuditRecord& audit,
                PendingCall& call) {
  const http::request<http::empty_body>& header = exchange.parser.get();
  if (!state.config.proxy.enabled) {
    audit.action = "proxy";
    return MakeError(Errc::kNotFound, "proxy mode is disabled on this agent ([proxy] enabled)");
  }
  if (Status admitted = AdmitAudited(state); !admitted) return admitted;
  Result<const Service*> service =
      MatchSubject(*call.pinned.enforced, SubjectOf(exchange.context));
  if (!service) {
    audit.decision = "deny";
    audit.rule = "unidentified";
    return std::move(service).error();
  }
  audit.service = (*service)->name;
  if (header.count(kWorkspaceHeader) > 1) {
    return MakeError(Errc::kInvalidRequest, "X-Dbproxy-Workspace is given more than once");
  }
  Result<ProxyRoute> route = ParseProxyRoute(header.method_string(), header.target(),
                                             header[kWorkspaceHeader], (*service)->workspace);
  if (!route) return std::move(route).error();
  call.route = std::move(*route);
  audit.workspace = call.route.workspace;
  audit.action = call.route.classification.action;
  audit.path = call.route.classification.normalized_path;
  return InspectQuery(call.route.classification, call.route.query, call.body_facts);
}

// A body whose declared Content-Length is over the cap that applies to it is refused from the
// head alone, before a byte of it is read or forwarded: [proxy] inspect_body_limit when the
// policy must read it, else [proxy] max_request_body (0: no cap). Beast holds a Content-Length
// to a parser's body limit only while the head is parsed, so the head is read without one and
// compared here; a chunked body is held to the same caps as it is read.
Status CheckDeclaredLength(const AgentConfig& config, const StreamedRequest& exchange,
                           bool inspected) {
  const boost::optional<std::uint64_t> length = exchange.parser.content_length();
  if (!length) return Status::Ok();
  const std::int64_t declared = static_cast<std::int64_t>(
      std::min<std::uint64_t>(*length, std::numeric_limits<std::int64_t>::max()));
  if (inspected && declared > config.proxy.inspect_body_limit) {
    return MakeError(Errc::kPayloadTooLarge,
                     "request body (Content-Length " + std::to_string(declared) +
                         ") is larger than the " + std::to_string(config.proxy.inspect_body_limit) +
                         " bytes the policy may inspect ([proxy] inspect_body_limit)");
  }
  if (config.proxy.max_request_body > 0 && declared > config.proxy.max_request_body) {
    return MakeError(Errc::kPayloadTooLarge,
                     "request body (Content-Length " + std::to_string(declared) +
                         ") is larger than [proxy] max_request_body (" +
                         std::to_string(config.proxy.max_request_body) + " bytes)");
  }
  return Status::Ok();
}

// Reads the whole request body (up to `limit` bytes) for inspection.
asio::awaitable<Status> ReadBody(StreamedRequest& exchange, std::int64_t limit, PendingCall& call) {
  co_await ContinueIfExpected(exchange);
  http::request_parser<http::string_body> parser(std::move(exchange.parser));
  parser.body_limit(static_cast<std::uint64_t>(limit));
  boost::system::error_code ec;
  exchange.deadline.Arm(exchange.request_timeout, ConnectionDeadline::OnExpiry::kClose);
  co_await http::async_read(exchange.stream, exchange.buffer, parser,
                            asio::redirect_error(asio::use_awaitable, ec));
  exchange.deadline.Disarm();
  if (ec == http::error::body_limit) {
    co_return MakeError(Errc::kPayloadTooLarge,
                        "request body is larger than the " + std::to_string(limit) +
                            " bytes the policy may inspect ([proxy] inspect_body_limit)");
  }
  if (ec) co_return MakeError(Errc::kInvalidRequest, "cannot read the request body");
  call.body = std::move(parser.get().body());
  call.body_consumed = true;
  co_return Status::Ok();
}

void RecordFacts(const AgentState& state, const PendingCall& call, AuditRecord& audit) {
  const BodyFacts& facts = call.body_facts;
  if (facts.warehouse) audit.attributes.emplace_back("request.warehouse", *facts.warehouse);
  if (facts.row_limit)
    audit.attributes.emplace_back("request.row_limit", std::to_string(*facts.row_limit));
  if (facts.byte_limit) {
    audit.attributes.emplace_back("request.byte_limit", std::to_string(*facts.byte_limit));
  }
  if (facts.job_id) audit.attributes.emplace_back("request.job_id", *facts.job_id);
  if (facts.statement_bytes) {
    audit.statement_bytes = *facts.statement_bytes;
    audit.statement_sha256 = facts.statement_sha256;
    if (state.config.audit.log_statements && call.body) {
      const nlohmann::json body = nlohmann::json::parse(*call.body, nullptr, false);
      if (body.is_object() && body.contains("statement") && body["statement"].is_string()) {
        audit.statement = body["statement"].get<std::string>();
      }
    }
  }
}

// The service's requests_per_minute (of the roles the decision saw).
Status AdmitRate(AgentState& state, const PendingCall& call, const CallDecision& decision,
                 AuditRecord& audit) {
  const auto limit = ServiceRateLimit(*call.pinned.enforced, *decision.service,
                                      &decision.granted_roles);
  if (!limit) return Status::Ok();
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now().time_since_epoch())
                                  .count();
  Status admitted = state.rate_limiter->Admit(decision.service_name, *limit, now_ms);
  if (!admitted) {
    audit.decision = "deny";
    audit.rule = admitted.error().rule;
  }
  return admitted;
}

// The policy decision, the rate limit and the clamps; on success fills `forward`.
Status DecideCall(AgentState& state, const StreamedRequest& exchange, PendingCall& call,
                  AuditRecord& audit, ProxyForward& forward) {
  const Classification& classification = call.route.classification;
  RequestFacts facts{.action = classification.action,
                     .workspace = call.route.workspace,
                     .method = call.method,
                     .path = classification.normalized_path,
                     .now_unix = NowUnix()};
  AddToRequestFacts(call.body_facts, facts);
  RecordFacts(state, call, audit);
  const CallDecision decision = DecideRequest(call.pinned, state, exchange.context, facts, audit);
  if (!decision.allow) return decision.error;
  if (Status admitted = AdmitRate(state, call, decision, audit); !admitted) return admitted;
  if (!decision.clamps.empty() && call.body) {
    Result<std::string> clamped = ApplyClamps(*call.body, decision.limits, call.body_facts);
    if (!clamped) return std::move(clamped).error();
    *call.body = std::move(*clamped);
    for (const std::string& clamp : decision.clamps)
      audit.attributes.emplace_back("clamp", clamp);
  }
  audit.decision = "allow";
  audit.credential = decision.credential;
  forward.method = facts.method;
  forward.target = call.route.UpstreamTarget();
  forward.token_key = TokenKey{.workspace = call.route.workspace,
                               .credential = decision.credential,
                               .scope = kProxyScope};
  forward.headers = RequestHeadersToForward(call.caller_headers, DBPROXY_VERSION);
  forward.body = std::move(call.body);
  return Status::Ok();
}

void LogShadowDifference(const AuditRecord& audit) {
  if (audit.shadow_decision.empty() || audit.shadow_decision == audit.decision) return;
  Log(LogLevel::kInfo, "shadow policy would " + audit.shadow_decision + " (" + audit.shadow_rule +
                           ") what was " + audit.decision + " (" + audit.rule + "): service '" +
                           audit.service + "' " + audit.action + ", request " + audit.request_id);
}

}  // namespace

bool WantsProxy(std::string_view target) {
  return IsProxyTarget(target);
}

asio::awaitable<bool> HandleProxyRequest(AgentState& state, UpstreamClient& upstream,
                                         StreamedRequest& exchange) {
  AuditRecord audit = BeginProxyAudit(exchange.parser.get(), exchange.context);
  ProxyForward forward;
  forward.keep_alive = exchange.parser.get().keep_alive();
  PendingCall call;
  call.pinned = PinPolicy(state);
  call.method = audit.method;
  call.caller_headers = CallerHeaders(exchange.parser.get());
  call.body_consumed = exchange.parser.is_done();  // no body at all
  if (call.body_consumed) call.body.emplace();
  Status status = Identify(state, exchange, audit, call);
  CallerJwt caller_jwt;    // exchange.context.jwt points here while the call runs
  CallerSaml caller_saml;  // exchange.context.saml likewise
  if (status) {
    status = co_await IdentifyCallerJwt(state, exchange.parser.get(), TokenPlace::kProxy,
                                        caller_jwt, exchange.context, audit);
  }
  if (status) {
    status = IdentifyCallerSaml(state, exchange.parser.get(), caller_saml, exchange.context, audit);
  }
  const bool inspected = status && BodyNeedsInspection(call.route.classification, call.method);
  if (status) status = CheckDeclaredLength(state.config, exchange, inspected);
  if (status && inspected) {
    if (!call.body) {
      Status read = co_await ReadBody(exchange, state.config.proxy.inspect_body_limit, call);
      status = std::move(read);
    }
    if (status) {
      Result<BodyFacts> facts = InspectBody(call.route.classification, *call.body);
      if (facts) {
        // Read the query again against the body's facts: a query job_id that disagrees with
        // the body's is refused, so the policy never decides on a different job than the
        // workspace might run.
        call.body_facts = std::move(*facts);
        status = InspectQuery(call.route.classification, call.route.query, call.body_facts);
      } else {
        status = std::move(facts).error();
      }
    }
  }
  if (status) status = DecideCall(state, exchange, call, audit, forward);
  // The call's record is written once its answer is known; before the call goes out, the
  // trail must be writable (per the fsync mode), or the call is not made.
  if (status) {
    Status writable = co_await AwaitAuditWritable(state);
    if (!writable) {
      audit.decision = "error";
      status = std::move(writable);
    }
  }
  // A place among the calls in flight, held until the answer has been relayed.
  std::optional<CallLimiter::Permit> permit;
  if (status && state.call_limiter != nullptr) {
    CallLimiter::Refusal refusal{};
    permit = state.call_limiter->TryAcquire(call.route.workspace, &refusal);
    if (!permit) {
      const bool total = refusal == CallLimiter::Refusal::kTotal;
      Error busy = MakeError(
          Errc::kUpstreamUnavailable,
          total ? "too many proxied calls in flight (max_concurrent_upstream " +
                      std::to_string(state.call_limiter->total()) + "); retry shortly"
                : "too many proxied calls in flight to workspace '" + call.route.workspace +
                      "' (max_concurrent_per_workspace " +
                      std::to_string(state.call_limiter->per_workspace()) + "); retry shortly");
      busy.retry_after_seconds = 1;
      audit.decision = "error";
      status = std::move(busy);
    }
  }
  bool reusable = false;
  if (!status) {
    const Error error = std::move(status).error();
    reusable =
        co_await AnswerError(exchange, error, audit, forward.keep_alive && call.body_consumed);
  } else {
    reusable = co_await ForwardToWorkspace(state, upstream, exchange, forward, audit);
  }
  audit.latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::steady_clock::now() - exchange.context.started)
                         .count();
  LogShadowDifference(audit);
  co_await CommitAudit(state, audit);
  exchange.context.jwt = nullptr;  // caller_jwt and caller_saml end with this frame
  exchange.context.saml = nullptr;
  co_return reusable;
}

}  // namespace dbproxy
