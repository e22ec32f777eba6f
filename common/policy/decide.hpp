// Decide: the one decision path every request and `explain` take.
//
//   1. the subject is matched to a service (or a service is named, by explain);
//   1b. a service with require_jwt refuses a subject without a JWT verified by that idp, and
//       one with require_saml a subject without an assertion verified by that saml_idp;
//   2. the maintenance switch (global, then service, then workspace);
//   3. runtime grants are added to the service's roles;
//   4. the policy is evaluated (Evaluate in policy.hpp);
//   5. for token:<scope> actions, a raw token must not bypass a call-level rule or limit
//      (RawTokenBypass);
//   6. an allowed call needs a role with a credential.
// The shadow policy is evaluated by calling Decide again with the shadow policy.
//
// Pure and synchronous: the policy, grants and maintenance are read only during the call.
// Threading: any thread; the arguments must not change during the call.
#pragma once

#include <string>
#include <vector>

#include "common/core/caller_identity.hpp"
#include "common/core/result.hpp"
#include "common/policy/policy.hpp"
#include "common/policy/rules.hpp"
#include "common/runtime/grants.hpp"
#include "common/runtime/maintenance.hpp"

namespace dbproxy {

// The operator's runtime state Decide reads. Either may be null (nothing granted / switched
// off).
struct RuntimeView {
  const GrantSet* grants = nullptr;
  const MaintenanceSet* maintenance = nullptr;
};

// Who asks: a caller the kernel identified (identity + the names of its groups), or, when
// `service_name` is set, that service directly (explain --service; no matching).
struct DecisionSubject {
  const CallerIdentity* identity = nullptr;
  const std::vector<std::string>* group_names = nullptr;  // may be null: none
  std::string service_name{};
  // The caller's verified JWT as attributes (ClaimAttributes, common/identity/jwt.hpp) and the
  // [[idp]] that verified it; null when it presented none. jwt.* conditions read it.
  const JwtAttributes* jwt = nullptr;
  std::string jwt_idp{};
  // The caller's verified SAML assertion as attributes (SamlPolicyAttributes,
  // common/identity/saml_providers.hpp) and the [[saml_idp]] that verified it; null when it
  // presented none. saml.* conditions read it.
  const SamlAttributes* saml = nullptr;
  std::string saml_idp{};
};

// What Decide found. Everything is a copy except `service`.
struct CallDecision {
  bool allow = false;
  // What decided: a [[rule]] id, "role:<name>", "default-deny", "unidentified", "require_jwt",
  // "require_saml",
  // "maintenance:<scope>[:<target>]", or the id a raw token would bypass.
  std::string rule{};
  std::string reason{};  // one sentence for the caller and the audit trail
  // On deny, the error to answer: kUnidentified (kNotFound for an unknown named service),
  // kUnauthenticated (require_jwt, require_saml), kMaintenance with retry_after_seconds, or
  // kPolicyDenied; its rule is `rule` (empty for kUnidentified/kNotFound, which never name one
  // to the caller).
  Error error{};
  // The matched service: points into the Policy given to Decide and is valid only while the
  // caller holds that policy (requests pin it as std::shared_ptr<const Policy>). Null when
  // unidentified.
  const Service* service = nullptr;
  std::string service_name{};  // empty when unidentified
  std::string matched_by{};    // "unit=x.service (file:line)" or "named in the request"
  std::string workspace{};     // the facts' workspace, else the service's default
  std::vector<std::string> granted_roles{};  // active runtime grants of the service
  // Set when allowed: the allowing role (or the service's first, for an allow rule), its
  // credential and limits, and the clamps the proxy must apply (Decision::clamps).
  std::string role{};
  std::string credential{};
  RoleLimits limits{};
  std::vector<std::string> clamps{};
  // For token:<scope> actions the policy allowed: the rule or "role:<name>" a raw token would
  // bypass (then allow is false and rule is this id); empty otherwise.
  std::string bypassed{};
};

// Step 1 alone: the service the subject is (most specific matcher, or the named one).
// Errors: kUnidentified when none or two equally specific match; kNotFound for an unknown
// named service. The pointer points into `policy`.
Result<const Service*> MatchSubject(const Policy& policy, const DecisionSubject& subject);

// The decision for `facts` (an empty facts.workspace means the service's default). Appends
// what was considered to `trace` when non-null.
// REQUIRES: subject.identity non-null (explain passes the caller it describes, also with a
// named service: caller.* conditions read it).
CallDecision Decide(const Policy& policy, const RuntimeView& runtime,
                    const DecisionSubject& subject, const RequestFacts& facts,
                    std::vector<TraceStep>* trace = nullptr);

}  // namespace dbproxy
