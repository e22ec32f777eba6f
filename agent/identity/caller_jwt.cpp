#include "agent/identity/caller_jwt.hpp"

#include <string_view>

#include "agent/clock.hpp"
#include "agent/identity/idp_registry.hpp"
#include "agent/log.hpp"
#include "common/identity/jwt.hpp"

namespace dbproxy {
namespace {

// The token `fields` presents per `place`; "" when none. Errors: a header given twice.
Result<std::string_view> PresentedToken(const AgentState& state, const http::fields& fields,
                                        TokenPlace place) {
  if (fields.count(http::field::authorization) > 1) {
    return MakeError(Errc::kInvalidRequest, "Authorization is given more than once");
  }
  if (place == TokenPlace::kProxy) {
    if (fields.count(kIdentityHeader) > 1) {
      // Spelt out (not kIdentityHeader + "..."): g++ 12 -O2 reports a false -Warray-bounds on
      // that concatenation (GCC PR 105651).
      return MakeError(Errc::kInvalidRequest, "X-Dbproxy-Identity is given more than once");
    }
    if (const auto identity = fields.find(kIdentityHeader); identity != fields.end()) {
      return std::string_view(identity->value());
    }
  }
  const std::string_view bearer = BearerCredential(fields[http::field::authorization]);
  if (bearer.empty()) return std::string_view();
  if (place == TokenPlace::kAgentEndpoint) return bearer;
  // Proxy mode: the caller's Authorization is usually a token meant for the workspace (which
  // the agent replaces); only a JWT of a configured issuer is the caller's identity.
  const std::optional<std::string> issuer = UnverifiedIssuer(bearer);
  if (!issuer) return std::string_view();
  for (const IdpSection& idp : state.config.idps) {
    if (idp.issuer == *issuer) return bearer;
  }
  return std::string_view();
}

}  // namespace

asio::awaitable<Status> IdentifyCallerJwt(AgentState& state, const http::fields& fields,
                                          TokenPlace place, CallerJwt& caller,
                                          RequestContext& context, AuditRecord& audit) {
  if (!state.idps || state.idps->empty()) {
    if (place == TokenPlace::kProxy && fields.count(kIdentityHeader) > 0) {
      audit.jwt_error = "no identity provider is configured";
      audit.decision = "deny";
      audit.rule = "invalid_identity";
      co_return MakeError(
          Errc::kInvalidIdentity,
          "X-Dbproxy-Identity was sent, but this agent has no identity provider ([[idp]])");
    }
    co_return Status::Ok();
  }
  Result<std::string_view> token = PresentedToken(state, fields, place);
  if (!token) co_return std::move(token).error();
  if (token->empty()) co_return Status::Ok();
  IdpVerdict verdict = co_await state.idps->Verify(*token, NowUnix());
  switch (verdict.kind) {
    case IdpVerdict::Kind::kVerified:
      caller.idp = std::move(verdict.idp);
      caller.issuer = std::move(verdict.jwt.issuer);
      caller.subject = std::move(verdict.jwt.subject);
      caller.attributes = std::move(verdict.attributes);
      context.jwt = &caller;
      audit.jwt_idp = caller.idp;
      audit.jwt_iss = caller.issuer;
      audit.jwt_sub = caller.subject;
      co_return Status::Ok();
    case IdpVerdict::Kind::kUnavailable:
      audit.jwt_error = verdict.reason;
      Log(LogLevel::kWarning, verdict.reason + ": " + verdict.log_detail + "; request " +
                                  context.request_id + " answered 503");
      co_return MakeError(Errc::kIdentityUnavailable, verdict.reason + "; retry shortly");
    case IdpVerdict::Kind::kRefused:
      break;
  }
  audit.jwt_error = verdict.reason;
  audit.decision = "deny";
  audit.rule = "invalid_identity";
  Log(LogLevel::kInfo, "identity token refused" +
                           (verdict.idp.empty() ? std::string() : " (idp '" + verdict.idp + "')") +
                           ": " + verdict.reason + "; request " + context.request_id);
  Error refused = MakeError(Errc::kInvalidIdentity, "identity token refused: " + verdict.reason);
  co_return refused;
}

}  // namespace dbproxy
