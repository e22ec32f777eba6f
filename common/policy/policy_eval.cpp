// Policy evaluation: matching a caller to a service and deciding an action. Pure and cheap.
#include <algorithm>

#include "common/policy/actions.hpp"
#include "common/policy/policy.hpp"

namespace dbproxy {
namespace {

enum class Applies { kNo, kYes, kUnknown };

bool AnyActionMatches(const std::vector<std::string>& patterns, std::string_view action) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return ActionMatches(p, action); });
}

// Whether `rule` applies (its action is known to match). With call facts unknown, a condition on
// them is unknown: `when` then cannot rule the rule out, and `unless` cannot excuse it.
Applies RuleApplies(const Rule& rule, const EvalSubject& subject, bool call_facts_known,
                    std::string* why) {
  bool unknown = false;
  for (const Condition& condition : rule.when) {
    std::optional<bool> holds = EvaluateCondition(condition, subject, call_facts_known);
    if (!holds) {
      unknown = true;
    } else if (!*holds) {
      if (why != nullptr) *why = "when " + condition.text + " is false";
      return Applies::kNo;
    }
  }
  if (!rule.unless.empty()) {
    bool all_hold = true;
    for (const Condition& condition : rule.unless) {
      std::optional<bool> holds = EvaluateCondition(condition, subject, call_facts_known);
      if (!holds.value_or(false)) {
        all_hold = false;
        if (!holds) unknown = true;
        break;
      }
    }
    if (all_hold) {
      if (why != nullptr) *why = "unless " + rule.unless.front().text + " holds";
      return Applies::kNo;
    }
  }
  return unknown ? Applies::kUnknown : Applies::kYes;
}

// What a role's limits make of a request: why it may not be used (empty when it may), and the
// rewrites a clamping role allows it with. Limits apply to sql.execute.
struct LimitCheck {
  std::string violation;
  std::vector<std::string> clamps;
};

// Checks one "<field> <= max" limit; a clamping role rewrites a statement body it can read
// instead of refusing it.
void CheckMax(const Role& role, std::string_view field, const std::optional<std::int64_t>& max,
              bool clamp, const std::optional<std::int64_t>& value, const RequestFacts& facts,
              LimitCheck& out) {
  if (!max || !out.violation.empty() || (value && *value <= *max)) return;
  if (clamp && facts.sql_statement_body) {
    out.clamps.push_back(std::string(field) + "=" + std::to_string(*max));
    return;
  }
  out.violation = "role '" + role.name + "' requires " + std::string(field) +
                  " <= " + std::to_string(*max);
}

LimitCheck CheckLimits(const Role& role, const RequestFacts& facts) {
  LimitCheck out;
  if (facts.action != "sql.execute") return out;
  const RoleLimits& limits = role.limits;
  CheckMax(role, "row_limit", limits.sql_row_limit_max, limits.sql_row_limit_clamp,
           facts.row_limit, facts, out);
  CheckMax(role, "byte_limit", limits.sql_byte_limit_max, limits.sql_byte_limit_clamp,
           facts.byte_limit, facts, out);
  if (out.violation.empty() && !limits.sql_warehouses.empty() &&
      (!facts.warehouse || std::find(limits.sql_warehouses.begin(), limits.sql_warehouses.end(),
                                     *facts.warehouse) == limits.sql_warehouses.end())) {
    out.violation = "role '" + role.name + "' does not allow this warehouse";
  }
  if (!out.violation.empty()) out.clamps.clear();
  return out;
}

// Visits the service's roles, then its granted ones (skipping duplicates), until `visit` returns
// true.
template <class Visit>
void ForEachRole(const Policy& policy, const EvalInput& input, Visit&& visit) {
  auto visit_names = [&](const std::vector<std::string>& names, bool granted) {
    for (const std::string& name : names) {
      if (granted && std::find(input.service->roles.begin(), input.service->roles.end(), name) !=
                         input.service->roles.end()) {
        continue;
      }
      const Role* role = policy.FindRole(name);
      if (role != nullptr && visit(*role, granted)) return true;
    }
    return false;
  };
  if (visit_names(input.service->roles, false)) return;
  if (input.granted_roles != nullptr) visit_names(*input.granted_roles, true);
}

Decision Deny(std::string rule, std::string reason) {
  return Decision{.allow = false, .rule = std::move(rule), .reason = std::move(reason),
                  .role = nullptr};
}

}  // namespace

int ServiceMatch::Specificity() const {
  return int{unit.has_value()} + int{uid.has_value()} + int{user.has_value()} +
         int{gid.has_value()} + int{group.has_value()} + int{exe.has_value()};
}

bool ServiceMatch::Matches(const CallerIdentity& identity,
                           const std::vector<std::string>& group_names) const {
  if (unit && (identity.unit.empty() || identity.unit != *unit)) return false;
  if (uid && identity.uid != *uid) return false;
  if (user && (identity.user.empty() || identity.user != *user)) return false;
  if (gid && !identity.InGroup(*gid)) return false;
  if (group && (group->empty() || identity.group != *group) &&
      std::find(group_names.begin(), group_names.end(), *group) == group_names.end()) {
    return false;
  }
  if (exe && (identity.exe.empty() || identity.exe != *exe)) return false;
  return true;
}

std::string ServiceMatch::Describe() const {
  std::string out;
  auto add = [&out](std::string_view key, const std::string& value) {
    out += (out.empty() ? "" : " ") + std::string(key) + "=" + value;
  };
  if (unit) add("unit", *unit);
  if (uid) add("uid", std::to_string(*uid));
  if (user) add("user", *user);
  if (gid) add("gid", std::to_string(*gid));
  if (group) add("group", *group);
  if (exe) add("exe", *exe);
  return out;
}

const Service* Policy::FindService(std::string_view name) const {
  for (const Service& service : services) {
    if (service.name == name) return &service;
  }
  return nullptr;
}

const Role* Policy::FindRole(std::string_view name) const {
  for (const Role& role : roles) {
    if (role.name == name) return &role;
  }
  return nullptr;
}

Result<const Service*> MatchService(const Policy& policy, const CallerIdentity& identity,
                                    const std::vector<std::string>& group_names) {
  const Service* best = nullptr;
  const Service* tie = nullptr;
  for (const Service& service : policy.services) {
    if (!service.match.Matches(identity, group_names)) continue;
    const int specificity = service.match.Specificity();
    if (best == nullptr || specificity > best->match.Specificity()) {
      best = &service;
      tie = nullptr;
    } else if (specificity == best->match.Specificity()) {
      tie = &service;
    }
  }
  if (best == nullptr) {
    return MakeError(Errc::kUnidentified, "no service matches this caller (uid " +
                                              std::to_string(identity.uid) + ")");
  }
  if (tie != nullptr) {
    return MakeError(Errc::kUnidentified, "caller matches services '" + best->name + "' and '" +
                                              tie->name + "' equally; refusing to guess");
  }
  return best;
}

bool ActionMatches(std::string_view pattern, std::string_view action) {
  // Iterative glob with one backtrack point: linear in practice, no recursion.
  std::size_t p = 0, a = 0, star = std::string_view::npos, mark = 0;
  while (a < action.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = a;
    } else if (p < pattern.size() && pattern[p] == action[a]) {
      ++p;
      ++a;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      a = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::span<const std::size_t> Policy::CandidateRules(std::string_view action,
                                                    std::vector<std::size_t>& scratch) const {
  const int known = KnownActionIndex(action);
  if (known >= 0 && static_cast<std::size_t>(known) < rules_by_known_action.size()) {
    return rules_by_known_action[static_cast<std::size_t>(known)];
  }
  scratch.clear();
  if (action.starts_with("token:") && !rules_by_known_action.empty()) {
    if (auto found = rules_by_token_action.find(action); found != rules_by_token_action.end()) {
      scratch = found->second;
    }
    for (std::size_t index : token_pattern_rules) {
      if (AnyActionMatches(rules[index].actions, action)) scratch.push_back(index);
    }
  } else {  // an unknown action, or a policy built without ParsePolicy: look at everything
    for (std::size_t index = 0; index < rules.size(); ++index) {
      if (AnyActionMatches(rules[index].actions, action)) scratch.push_back(index);
    }
  }
  std::sort(scratch.begin(), scratch.end());
  scratch.erase(std::unique(scratch.begin(), scratch.end()), scratch.end());
  return scratch;
}

Decision Evaluate(const Policy& policy, const EvalInput& input, std::vector<TraceStep>* trace) {
  const std::string& action = input.facts->action;
  const EvalSubject subject{.service = input.service, .identity = input.identity,
                            .group_names = input.group_names, .facts = input.facts,
                            .jwt = input.jwt, .jwt_idp = input.jwt_idp, .saml = input.saml};
  std::vector<std::size_t> scratch;
  const std::span<const std::size_t> candidates = policy.CandidateRules(action, scratch);
  std::string why;
  std::string* why_out = trace != nullptr ? &why : nullptr;
  // 1. Deny wins.
  for (std::size_t index : candidates) {
    const Rule& rule = policy.rules[index];
    if (rule.effect != RuleEffect::kDeny) continue;
    if (RuleApplies(rule, subject, true, why_out) == Applies::kYes) {
      if (trace != nullptr) AddTraceStep(trace, "rule " + rule.id, "applies: deny");
      return Deny(rule.id, rule.description.empty() ? "rule '" + rule.id + "' denies " + action
                                                    : rule.description);
    }
    if (trace != nullptr) AddTraceStep(trace, "rule " + rule.id, "skipped: " + why);
  }
  // 2. Roles.
  Decision decision;
  std::string limit_reason;
  ForEachRole(policy, input, [&](const Role& role, bool granted) {
    const std::string name = std::string(granted ? "granted role " : "role ") + role.name;
    if (!AnyActionMatches(role.actions, action)) {
      if (trace != nullptr) AddTraceStep(trace, name, "does not list " + action);
      return false;
    }
    LimitCheck limits = CheckLimits(role, *input.facts);
    if (!limits.violation.empty()) {
      if (trace != nullptr) AddTraceStep(trace, name, "limit: " + limits.violation);
      if (limit_reason.empty()) limit_reason = std::move(limits.violation);
      return false;
    }
    std::string allows = "allows " + action;
    for (const std::string& clamp : limits.clamps) {
      allows += (&clamp == &limits.clamps.front() ? " with " : ", ") + clamp;
    }
    if (trace != nullptr) AddTraceStep(trace, name, allows);
    decision = Decision{.allow = true, .rule = "role:" + role.name,
                        .reason = "role '" + role.name + "' " + allows, .role = &role,
                        .clamps = std::move(limits.clamps)};
    return true;
  });
  if (decision.allow) return decision;
  // 3. Allow rules lend the credential of the service's first role.
  for (std::size_t index : candidates) {
    const Rule& rule = policy.rules[index];
    if (rule.effect != RuleEffect::kAllow) continue;
    if (RuleApplies(rule, subject, true, why_out) != Applies::kYes) {
      if (trace != nullptr) AddTraceStep(trace, "rule " + rule.id, "skipped: " + why);
      continue;
    }
    const Role* credential_role = nullptr;
    ForEachRole(policy, input, [&](const Role& role, bool) {
      credential_role = &role;
      return true;
    });
    if (trace != nullptr) AddTraceStep(trace, "rule " + rule.id, "applies: allow");
    return Decision{.allow = true, .rule = rule.id,
                    .reason = "rule '" + rule.id + "' allows " + action, .role = credential_role};
  }
  if (trace != nullptr) AddTraceStep(trace, "default", "nothing allows " + action);
  return Deny("default-deny", !limit_reason.empty()
                                  ? limit_reason
                                  : "no role or rule allows service '" + input.service->name +
                                        "' to " + action);
}

std::string RawTokenBypass(const Policy& policy, const EvalInput& input, std::string_view scope) {
  const std::vector<std::string> reach = ScopeReach(scope);
  if (reach.empty()) return {};
  const std::span<const std::string_view> known = KnownActions();
  KnownActionSet reachable;
  for (std::size_t k = 0; k < known.size(); ++k) {
    if (AnyActionMatches(reach, known[k])) reachable.set(k);
  }
  // Each reachable action the rule covers is tried as the request's action: a condition on
  // request.action must see the call the token could make, not the token request itself.
  RequestFacts probe = *input.facts;
  const EvalSubject subject{.service = input.service, .identity = input.identity,
                            .group_names = input.group_names, .facts = &probe,
                            .jwt = input.jwt, .jwt_idp = input.jwt_idp, .saml = input.saml};
  for (const Rule& rule : policy.rules) {
    if (rule.effect != RuleEffect::kDeny) continue;
    const KnownActionSet covered = rule.known_actions & reachable;
    for (std::size_t k = 0; covered.any() && k < known.size(); ++k) {
      if (!covered.test(k)) continue;
      probe.action.assign(known[k]);
      if (RuleApplies(rule, subject, false, nullptr) != Applies::kNo) return rule.id;
    }
  }
  // Role limits: SQL limits restrict the token when it reaches sql.execute, a rate limit when it
  // reaches any call the role allows (a raw token is neither inspected nor paced).
  auto reaches_role_call = [&](const Role& role) {
    for (std::size_t k = 0; k < known.size(); ++k) {
      if (reachable.test(k) && AnyActionMatches(role.actions, known[k])) {
        return true;
      }
    }
    return false;
  };
  std::string limited;
  ForEachRole(policy, input, [&](const Role& role, bool) {
    const bool sql = role.limits.any_sql() && AnyActionMatches(reach, "sql.execute") &&
                     AnyActionMatches(role.actions, "sql.execute");
    if (sql || (role.limits.requests_per_minute && reaches_role_call(role))) {
      limited = "role:" + role.name;
      return true;
    }
    return false;
  });
  return limited;
}

Result<std::string> DefaultTokenScope(const Policy& policy, const Service& service) {
  for (const std::string& role_name : service.roles) {
    const Role* role = policy.FindRole(role_name);
    if (role == nullptr) continue;
    for (const std::string& action : role->actions) {
      if (action.starts_with("token:") && action.find('*') == std::string::npos) {
        return action.substr(6);
      }
    }
  }
  Error error = MakeError(Errc::kPolicyDenied, "service '" + service.name +
                                                   "' has no role that allows a token scope");
  error.rule = "default-deny";
  return error;
}

}  // namespace dbproxy
