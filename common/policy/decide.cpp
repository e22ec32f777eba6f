#include "common/policy/decide.hpp"

#include <optional>
#include <utility>

namespace dbproxy {
namespace {

constexpr std::string_view kTokenPrefix = "token:";

void Deny(CallDecision& out, Error error, std::string rule) {
  out.allow = false;
  out.rule = std::move(rule);
  out.reason = error.message;
  out.error = std::move(error);
}

void DenyByPolicy(CallDecision& out, std::string rule, std::string reason) {
  Error error = MakeError(Errc::kPolicyDenied, std::move(reason));
  error.rule = rule;
  Deny(out, std::move(error), std::move(rule));
}

// Step 1b: the verified identity `service` requires and `subject` lacks.
struct MissingIdentity {
  std::string rule;  // "require_jwt" or "require_saml"
  std::string what;  // "identity token from 'corp'"
};

std::optional<MissingIdentity> MissingRequiredIdentity(const Service& service,
                                                       const DecisionSubject& subject) {
  if (!service.require_jwt.empty() &&
      (subject.jwt == nullptr || subject.jwt_idp != service.require_jwt)) {
    return MissingIdentity{"require_jwt", "identity token from '" + service.require_jwt + "'"};
  }
  if (!service.require_saml.empty() &&
      (subject.saml == nullptr || subject.saml_idp != service.require_saml)) {
    return MissingIdentity{"require_saml",
                           "SAML assertion from '" + service.require_saml + "'"};
  }
  return std::nullopt;
}

// Steps 4 to 6, once the service is known and not switched off.
void DecideByPolicy(const Policy& policy, const EvalInput& input, CallDecision& out,
                    std::vector<TraceStep>* trace) {
  const Decision decision = Evaluate(policy, input, trace);
  if (!decision.allow) {
    DenyByPolicy(out, decision.rule, decision.reason);
    return;
  }
  const std::string& action = input.facts->action;
  if (action.starts_with(kTokenPrefix)) {
    const std::string scope = action.substr(kTokenPrefix.size());
    if (std::string bypassed = RawTokenBypass(policy, input, scope); !bypassed.empty()) {
      AddTraceStep(trace, "raw token", "refused: '" + bypassed + "' restricts calls it could make");
      out.bypassed = bypassed;
      DenyByPolicy(out, bypassed,
                   "'" + bypassed + "' restricts calls that a token with scope '" + scope +
                       "' could make; use proxy mode or a narrower scope");
      return;
    }
  }
  if (decision.role == nullptr) {
    AddTraceStep(trace, "credential", "refused: no role of the service has one");
    DenyByPolicy(out, decision.rule,
                 "service '" + input.service->name + "' has no role with a credential");
    return;
  }
  out.allow = true;
  out.rule = decision.rule;
  out.reason = decision.reason;
  out.role = decision.role->name;
  out.credential = decision.role->credential;
  out.limits = decision.role->limits;
  out.clamps = decision.clamps;
}

}  // namespace

Result<const Service*> MatchSubject(const Policy& policy, const DecisionSubject& subject) {
  if (!subject.service_name.empty()) {
    const Service* named = policy.FindService(subject.service_name);
    if (named == nullptr) {
      return MakeError(Errc::kNotFound, "no service '" + subject.service_name + "'");
    }
    return named;
  }
  static const std::vector<std::string> kNoGroups;
  return MatchService(policy, *subject.identity,
                      subject.group_names != nullptr ? *subject.group_names : kNoGroups);
}

CallDecision Decide(const Policy& policy, const RuntimeView& runtime,
                    const DecisionSubject& subject, const RequestFacts& facts,
                    std::vector<TraceStep>* trace) {
  CallDecision out;
  Result<const Service*> matched = MatchSubject(policy, subject);
  if (!matched) {
    AddTraceStep(trace, "service", "none: " + matched.error().message);
    Deny(out, std::move(matched).error(), "unidentified");
    return out;
  }
  const Service& service = **matched;
  out.service = &service;
  out.service_name = service.name;
  out.matched_by = subject.service_name.empty()
                       ? service.match.Describe() + " (" + service.source + ")"
                       : "named in the request";
  AddTraceStep(trace, "service " + service.name, "matched: " + out.matched_by);
  if (std::optional<MissingIdentity> missing = MissingRequiredIdentity(service, subject)) {
    // Before maintenance and the rules: the caller has not proven who it is.
    Error error = MakeError(Errc::kUnauthenticated, "service '" + service.name +
                                                        "' requires a verified " + missing->what);
    error.rule = missing->rule;
    AddTraceStep(trace, missing->rule, "refused: no verified " + missing->what);
    Deny(out, std::move(error), missing->rule);
    return out;
  }
  // The facts as evaluated: the workspace defaults to the service's.
  std::optional<RequestFacts> defaulted;
  if (facts.workspace.empty() && !service.workspace.empty()) {
    defaulted = facts;
    defaulted->workspace = service.workspace;
  }
  const RequestFacts& evaluated = defaulted ? *defaulted : facts;
  out.workspace = evaluated.workspace;
  if (runtime.maintenance != nullptr) {
    if (auto entry = runtime.maintenance->Find(service.name, out.workspace, facts.now_unix)) {
      Error error = MaintenanceError(*entry, facts.now_unix);
      AddTraceStep(trace, "maintenance", "applies: " + error.message);
      std::string rule = error.rule;
      Deny(out, std::move(error), std::move(rule));
      return out;
    }
  }
  if (runtime.grants != nullptr) {
    out.granted_roles = runtime.grants->ActiveRoles(service.name, facts.now_unix);
  }
  static const std::vector<std::string> kNoGroups;
  const EvalInput input{
      .service = &service,
      .identity = subject.identity,
      .group_names = subject.group_names != nullptr ? subject.group_names : &kNoGroups,
      .facts = &evaluated,
      .granted_roles = &out.granted_roles,
      .jwt = subject.jwt,
      .jwt_idp = subject.jwt_idp,
      .saml = subject.saml};
  DecideByPolicy(policy, input, out, trace);
  return out;
}

}  // namespace dbproxy
