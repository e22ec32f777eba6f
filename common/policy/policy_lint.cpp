#include "common/policy/policy_lint.hpp"

#include <algorithm>
#include <string_view>

#include "common/policy/actions.hpp"
#include "common/policy/policy_lint_conditions.hpp"

namespace dbproxy {
namespace {

LintFinding Warning(const std::string& source, std::string code, std::string message) {
  return LintFinding{
      .severity = "warning", .source = source, .code = std::move(code), .message = std::move(message)};
}

LintFinding Failure(const std::string& source, std::string code, std::string message) {
  return LintFinding{
      .severity = "error", .source = source, .code = std::move(code), .message = std::move(message)};
}

template <class T>
bool Compatible(const std::optional<T>& a, const std::optional<T>& b) {
  return !a || !b || *a == *b;
}

// gid and group test membership (primary or supplementary), so different values can both hold
// for one process; unit, uid, user and exe have one value per process.
bool CanOverlap(const ServiceMatch& a, const ServiceMatch& b) {
  return a.Specificity() == b.Specificity() && Compatible(a.unit, b.unit) &&
         Compatible(a.uid, b.uid) && Compatible(a.user, b.user) && Compatible(a.exe, b.exe);
}

void LintServices(const Policy& policy, std::vector<LintFinding>& out) {
  const std::vector<Service>& services = policy.services;
  for (std::size_t j = 0; j < services.size(); ++j) {
    for (std::size_t i = 0; i < j; ++i) {
      if (!CanOverlap(services[i].match, services[j].match)) continue;
      out.push_back(Warning(
          services[j].source, "overlapping-services",
          "service '" + services[j].name + "' (" + services[j].match.Describe() +
              ") and service '" + services[i].name + "' (" + services[i].match.Describe() +
              ", " + services[i].source +
              ") can match the same process with equal specificity; such a caller is refused "
              "as ambiguous"));
    }
  }
}

bool ListedByAService(const Policy& policy, const Role& role) {
  return std::any_of(policy.services.begin(), policy.services.end(), [&](const Service& service) {
    return std::find(service.roles.begin(), service.roles.end(), role.name) !=
           service.roles.end();
  });
}

void LintRoles(const Policy& policy, std::vector<LintFinding>& out) {
  for (const Role& role : policy.roles) {
    if (!ListedByAService(policy, role)) {
      out.push_back(Warning(role.source, "unused-role",
                            "role '" + role.name +
                                "' is listed by no service (only a runtime grant can use it)"));
    }
  }
}

bool MatchesNothing(std::string_view pattern) {
  if (pattern.starts_with("token:")) return false;
  const std::span<const std::string_view> known = KnownActions();
  return std::none_of(known.begin(), known.end(),
                      [&](std::string_view action) { return ActionMatches(pattern, action); });
}

void LintPatterns(const std::string& owner, const std::string& source,
                  const std::vector<std::string>& patterns, std::vector<LintFinding>& out) {
  for (const std::string& pattern : patterns) {
    if (MatchesNothing(pattern)) {
      out.push_back(Failure(source, "pattern-matches-nothing",
                            owner + ": action pattern '" + pattern +
                                "' matches no known action and is not a token:<scope> pattern"));
    }
  }
}

// Calls that mint or reveal credentials, read secrets, change permissions or run arbitrary
// code: a policy should allow them by name, not as a side effect of a wide pattern.
constexpr std::string_view kSensitiveActions[] = {"tokens.manage",      "secrets.read",
                                                  "secrets.manage",     "uc.credentials",
                                                  "permissions.manage", "commands.execute"};

void LintSensitive(const std::string& owner, const std::string& source,
                   const std::vector<std::string>& patterns, std::vector<LintFinding>& out) {
  for (const std::string& pattern : patterns) {
    if (pattern.find('*') == std::string::npos) continue;
    std::string reached;
    for (std::string_view action : kSensitiveActions) {
      const bool named = std::find(patterns.begin(), patterns.end(), action) != patterns.end();
      if (!named && ActionMatches(pattern, action)) {
        reached += (reached.empty() ? "" : ", ") + std::string(action);
      }
    }
    if (!reached.empty()) {
      out.push_back(Warning(source, "sensitive-by-pattern",
                            owner + ": action pattern '" + pattern + "' also allows " + reached +
                                "; list sensitive actions by name if that is meant"));
    }
  }
}

bool AnyMatches(const std::vector<std::string>& patterns, std::string_view action) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return ActionMatches(p, action); });
}

// Whether every action `pattern` matches is matched by one of `patterns`. A literal is checked
// directly. A pattern that cannot reach token actions is checked over the closed table of known
// actions. Otherwise it is covered when a pattern matches its text with its '*' taken
// literally: a covering pattern's literal characters are never '*', so each '*' of `pattern`
// falls inside one of the covering pattern's wildcards, whatever it expands to.
bool Covered(const std::vector<std::string>& patterns, std::string_view pattern) {
  if (pattern.find('*') == std::string_view::npos || MayMatchTokenAction(pattern)) {
    return AnyMatches(patterns, pattern);
  }
  const std::span<const std::string_view> known = KnownActions();
  return std::all_of(known.begin(), known.end(), [&](std::string_view action) {
    return !ActionMatches(pattern, action) || AnyMatches(patterns, action);
  });
}

bool CoversAll(const Rule& earlier, const Rule& later) {
  return std::all_of(later.actions.begin(), later.actions.end(),
                     [&](const std::string& action) { return Covered(earlier.actions, action); });
}

bool Unconditional(const Rule& rule) { return rule.when.empty() && rule.unless.empty(); }

bool SameConditions(const std::vector<Condition>& a, const std::vector<Condition>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const Condition& x, const Condition& y) {
                      return x.attribute.name == y.attribute.name && x.op == y.op &&
                             x.operands == y.operands;
                    });
}

bool Identical(const Rule& a, const Rule& b) {
  return a.effect == b.effect && a.actions == b.actions && SameConditions(a.when, b.when) &&
         SameConditions(a.unless, b.unless);
}

std::string Named(const Rule& rule) { return "rule '" + rule.id + "' (" + rule.source + ")"; }

// Why rules[j] never decides, or empty.
std::string ShadowReason(const std::vector<Rule>& rules, std::size_t j) {
  const Rule& rule = rules[j];
  for (std::size_t i = 0; i < j; ++i) {
    if (Identical(rules[i], rule)) return "it is identical to earlier " + Named(rules[i]);
    if (rules[i].effect == rule.effect && Unconditional(rules[i]) && CoversAll(rules[i], rule)) {
      return "earlier " + Named(rules[i]) + " has no conditions and covers all its actions";
    }
  }
  if (rule.effect != RuleEffect::kAllow) return {};
  for (const Rule& deny : rules) {
    if (deny.effect == RuleEffect::kDeny && Unconditional(deny) && CoversAll(deny, rule)) {
      return "deny " + Named(deny) +
             " has no conditions and covers all its actions (deny wins whatever the order)";
    }
  }
  return {};
}

void LintRules(const Policy& policy, std::vector<LintFinding>& out) {
  for (const Role& role : policy.roles) {
    LintPatterns("role '" + role.name + "'", role.source, role.actions, out);
    // An unused role has its own warning; its patterns matter once a service lists it.
    if (ListedByAService(policy, role)) {
      LintSensitive("role '" + role.name + "'", role.source, role.actions, out);
    }
  }
  for (const Rule& rule : policy.rules) {
    LintPatterns("rule '" + rule.id + "'", rule.source, rule.actions, out);
    if (rule.effect == RuleEffect::kAllow) {
      LintSensitive("rule '" + rule.id + "'", rule.source, rule.actions, out);
    }
  }
  for (const Rule& rule : policy.rules) {
    for (const std::vector<Condition>* conditions : {&rule.when, &rule.unless}) {
      for (const Condition& condition : *conditions) {
        if (std::string reason = TypeMismatchReason(condition); !reason.empty()) {
          out.push_back(Failure(rule.source, "type-mismatch", "rule '" + rule.id + "': " + reason));
        }
      }
    }
  }
  for (const Rule& rule : policy.rules) {
    if (std::string reason = NeverMatchesReason(policy, rule); !reason.empty()) {
      out.push_back(Failure(rule.source, "never-matches",
                            "rule '" + rule.id + "' never applies: " + reason));
    }
  }
  for (std::size_t j = 0; j < policy.rules.size(); ++j) {
    if (std::string reason = ShadowReason(policy.rules, j); !reason.empty()) {
      out.push_back(Warning(policy.rules[j].source, "shadowed",
                            "rule '" + policy.rules[j].id + "' never decides: " + reason));
    }
  }
}

}  // namespace

std::vector<LintFinding> LintIdentityRequirements(const Policy& policy,
                                                  const IdentityProviderNames& providers) {
  std::vector<LintFinding> findings;
  const auto check = [&](const Service& service, const std::string& name,
                         const std::vector<std::string>& defined, const char* key,
                         const char* table) {
    if (name.empty() || std::find(defined.begin(), defined.end(), name) != defined.end()) return;
    findings.push_back({.severity = "warning",
                        .source = service.source,
                        .code = "unknown-identity-provider",
                        .message = "service '" + service.name + "' has " + key + " = \"" + name +
                                   "\", but agent.toml defines no " + table + " '" + name +
                                   "': every request of the service is refused"});
  };
  for (const Service& service : policy.services) {
    check(service, service.require_jwt, providers.idps, "require_jwt", "[[idp]]");
    check(service, service.require_saml, providers.saml_idps, "require_saml", "[[saml_idp]]");
  }
  return findings;
}

std::vector<LintFinding> LintPolicy(const Policy& policy) {
  std::vector<LintFinding> findings;
  LintServices(policy, findings);
  LintRoles(policy, findings);
  LintRules(policy, findings);
  return findings;
}

}  // namespace dbproxy
