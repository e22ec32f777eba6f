#include "agent/identity/caller_saml.hpp"

#include <string>
#include <string_view>
#include <utility>

#include "agent/clock.hpp"
#include "agent/log.hpp"
#include "common/identity/saml_providers.hpp"
#include "common/identity/saml_replay.hpp"

namespace dbproxy {
namespace {

// Records a refused assertion and gives the caller's error.
Error RefuseAssertion(const RequestContext& context, AuditRecord& audit, const std::string& idp,
                      const std::string& reason) {
  audit.saml_error = reason;
  audit.decision = "deny";
  audit.rule = "invalid_identity";
  Log(LogLevel::kInfo, "SAML assertion refused" +
                           (idp.empty() ? std::string() : " (saml_idp '" + idp + "')") + ": " +
                           reason + "; request " + context.request_id);
  return MakeError(Errc::kInvalidIdentity, "SAML assertion refused: " + reason);
}

// A OneTimeUse assertion is taken once while it verifies: a second presentation is refused.
Status AdmitOneTimeUse(const AgentState& state, const SamlVerdict& verdict,
                       const RequestContext& context, AuditRecord& audit) {
  if (!verdict.saml.one_time_use) return Status::Ok();
  switch (state.saml_replays.Admit(verdict.saml.issuer, verdict.saml.assertion_id,
                                   verdict.saml.usable_until, NowUnix())) {
    case SamlReplayCache::Admission::kFirstUse:
      return Status::Ok();
    case SamlReplayCache::Admission::kReplayed:
      return RefuseAssertion(context, audit, verdict.idp,
                             "a OneTimeUse assertion was presented again (a replay)");
    case SamlReplayCache::Admission::kFull:
      break;
  }
  audit.saml_error = "replay cache full";
  Log(LogLevel::kWarning, "OneTimeUse SAML assertion refused: " +
                              std::to_string(state.saml_replays.size()) +
                              " still-valid ones are remembered already; request " +
                              context.request_id);
  return MakeError(Errc::kIdentityUnavailable,
                   "too many OneTimeUse SAML assertions are in use; try again once some expire");
}

}  // namespace

Status IdentifyCallerSaml(const AgentState& state, const http::fields& fields, CallerSaml& caller,
                          RequestContext& context, AuditRecord& audit) {
  const std::size_t presented = fields.count(kSamlAssertionHeader);
  if (presented == 0) return Status::Ok();
  if (presented > 1) {
    // Spelt out (not kSamlAssertionHeader + "..."): g++ 12 -O2 reports a false -Warray-bounds
    // on that concatenation (GCC PR 105651).
    return MakeError(Errc::kInvalidRequest, "X-Dbproxy-SAML-Assertion is given more than once");
  }
  if (state.saml_idps.empty()) {
    Error refused = RefuseAssertion(context, audit, "", "no SAML identity provider is configured");
    refused.message =
        "X-Dbproxy-SAML-Assertion was sent, but this agent has no SAML identity provider "
        "([[saml_idp]])";
    return refused;
  }
  const std::string_view assertion = fields.find(kSamlAssertionHeader)->value();
  SamlVerdict verdict = VerifyWithSamlProviders(state.saml_idps, assertion, NowUnix());
  switch (verdict.kind) {
    case SamlVerdict::Kind::kVerified:
      if (Status once = AdmitOneTimeUse(state, verdict, context, audit); !once) return once;
      caller.idp = std::move(verdict.idp);
      caller.attributes = SamlPolicyAttributes(verdict.saml);
      caller.issuer = std::move(verdict.saml.issuer);
      caller.name_id = std::move(verdict.saml.name_id);
      context.saml = &caller;
      audit.saml_idp = caller.idp;
      audit.saml_issuer = caller.issuer;
      audit.saml_name_id = caller.name_id;
      return Status::Ok();
    case SamlVerdict::Kind::kFailed:
      audit.saml_error = verdict.reason;
      Log(LogLevel::kError, "SAML assertion not checked: " + verdict.reason + "; request " +
                                context.request_id + " answered 500");
      return MakeError(Errc::kInternal, "the SAML assertion could not be checked",
                       verdict.reason);
    case SamlVerdict::Kind::kRefused:
      break;
  }
  return RefuseAssertion(context, audit, verdict.idp, verdict.reason);
}

nlohmann::json CallerSamlJson(const CallerSaml& caller) {
  return {{"idp", caller.idp},
          {"issuer", caller.issuer},
          {"name_id", caller.name_id},
          {"attributes", caller.attributes}};
}

}  // namespace dbproxy
