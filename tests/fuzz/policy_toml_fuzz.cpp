// libFuzzer target for the policy parser (common/policy ParsePolicy) and what reads a parsed
// policy: LintPolicy, MatchService, Evaluate, RawTokenBypass, DefaultTokenScope. The input is
// up to three policy files separated by NUL bytes. Invariants:
//   - parsing is deterministic (same verdict, message and revision when parsed again);
//   - a parsed policy has a 16-hex-digit revision, unique service names, services whose roles
//     exist, and lint findings of a known severity;
//   - a caller built from a service's matcher is matched to a service whose matcher fits it
//     (or refused as ambiguous), and every decision for it is well formed: an allow names a
//     role and a rule, a deny names no role.
#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/policy/actions.hpp"
#include "common/policy/policy.hpp"
#include "common/policy/policy_lint.hpp"

namespace {

using dbproxy::Policy;
using dbproxy::Service;

std::vector<dbproxy::PolicySource> SplitFiles(std::string_view text) {
  constexpr std::array<std::string_view, 3> kNames = {"10-a.toml", "20-b.toml", "30-c.toml"};
  std::vector<dbproxy::PolicySource> files;
  for (std::string_view name : kNames) {
    const std::size_t nul = text.find('\0');
    files.push_back({std::string(name), std::string(text.substr(0, nul))});
    if (nul == std::string_view::npos) break;
    text.remove_prefix(nul + 1);
  }
  return files;
}

dbproxy::CallerIdentity IdentityFor(const dbproxy::ServiceMatch& match) {
  dbproxy::CallerIdentity identity;
  identity.pid = 4242;
  identity.uid = match.uid.value_or(1000);
  identity.gid = match.gid.value_or(1000);
  identity.user = match.user.value_or("someone");
  identity.group = match.group.value_or("somegroup");
  identity.exe = match.exe.value_or("/usr/bin/true");
  identity.unit = match.unit.value_or("some.service");
  return identity;
}

void CheckDecision(const Policy& policy, const dbproxy::Decision& decision) {
  if (decision.allow != (decision.role != nullptr)) std::abort();
  if (decision.rule.empty()) std::abort();
  if (decision.allow && policy.FindRole(decision.role->name) != decision.role) std::abort();
}

void CheckEvaluation(const Policy& policy, const Service& wanted) {
  const dbproxy::CallerIdentity identity = IdentityFor(wanted.match);
  const std::vector<std::string> no_groups;
  const dbproxy::Result<const Service*> matched =
      dbproxy::MatchService(policy, identity, no_groups);
  if (!matched) return;  // ambiguous: refused, never resolved by order
  const Service& service = **matched;
  if (!service.match.Matches(identity, no_groups)) std::abort();
  const std::vector<std::string> granted = {"granted-role"};
  const auto actions = dbproxy::KnownActions();
  for (std::size_t i = 0; i < actions.size(); i += 7) {
    dbproxy::RequestFacts facts;
    facts.action = std::string(actions[i]);
    facts.workspace = service.workspace.empty() ? "prod" : service.workspace;
    facts.row_limit = 1000;
    facts.now_unix = 1700000000;
    const dbproxy::EvalInput input{.service = &service, .identity = &identity,
                                   .group_names = &no_groups, .facts = &facts,
                                   .granted_roles = &granted};
    std::vector<dbproxy::TraceStep> trace;
    CheckDecision(policy, dbproxy::Evaluate(policy, input, &trace));
  }
  dbproxy::RequestFacts token{.action = "token:all-apis", .workspace = "prod"};
  const dbproxy::EvalInput input{.service = &service, .identity = &identity,
                                 .group_names = &no_groups, .facts = &token,
                                 .granted_roles = nullptr};
  CheckDecision(policy, dbproxy::Evaluate(policy, input));
  (void)dbproxy::RawTokenBypass(policy, input, "all-apis");
  (void)dbproxy::DefaultTokenScope(policy, service);
}

void CheckParsed(const Policy& policy) {
  if (policy.revision.size() != 16) std::abort();
  for (char c : policy.revision) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) std::abort();
  }
  for (const Service& service : policy.services) {
    if (policy.FindService(service.name) != &service) std::abort();
    for (const std::string& role : service.roles) {
      if (policy.FindRole(role) == nullptr) std::abort();
    }
  }
  for (const dbproxy::LintFinding& finding : dbproxy::LintPolicy(policy)) {
    if (finding.severity != "error" && finding.severity != "warning") std::abort();
  }
  for (const Service& service : policy.services) CheckEvaluation(policy, service);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool initialised = sodium_init() >= 0;
  if (!initialised) std::abort();
  const std::vector<dbproxy::PolicySource> files =
      SplitFiles({reinterpret_cast<const char*>(data), size});
  const dbproxy::Result<Policy> policy = dbproxy::ParsePolicy(files);
  const dbproxy::Result<Policy> again = dbproxy::ParsePolicy(files);
  if (policy.has_value() != again.has_value()) std::abort();
  if (!policy) {
    if (policy.error().message != again.error().message) std::abort();
    return 0;
  }
  if (policy->revision != again->revision || policy->rules.size() != again->rules.size()) {
    std::abort();
  }
  CheckParsed(*policy);
  return 0;
}
