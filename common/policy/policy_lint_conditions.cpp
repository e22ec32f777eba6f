#include "common/policy/policy_lint_conditions.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <variant>

namespace dbproxy {
namespace {

using Conditions = std::vector<const Condition*>;

// -1, 0, 1; nullopt when the types differ. rules.cpp compares the same way: a string never
// compares with a number, so an ordering test on a value of the other type fails.
std::optional<int> Compare(const ConditionValue& a, const ConditionValue& b) {
  if (a.index() != b.index()) return std::nullopt;
  if (a < b) return -1;
  return b < a ? 1 : 0;
}

bool IsPresentFalse(const Condition& c) {
  return c.op == ConditionOp::kPresent && c.operands.at(0) == ConditionValue(std::int64_t{0});
}

// Whether `c` holds for an attribute whose value is `value`: the semantics of rules.cpp for a
// present value.
bool HoldsFor(const Condition& c, const ConditionValue& value) {
  const std::vector<ConditionValue>& ops = c.operands;
  auto equal = [&](const ConditionValue& o) { return Compare(value, o) == 0; };
  const std::optional<int> first = Compare(value, ops.at(0));
  switch (c.op) {
    case ConditionOp::kEq: return first == 0;
    case ConditionOp::kNe: return first != 0;
    case ConditionOp::kIn: return std::any_of(ops.begin(), ops.end(), equal);
    case ConditionOp::kNotIn: return std::none_of(ops.begin(), ops.end(), equal);
    case ConditionOp::kLt: return first == -1;
    case ConditionOp::kLe: return first && *first <= 0;
    case ConditionOp::kGt: return first == 1;
    case ConditionOp::kGe: return first && *first >= 0;
    case ConditionOp::kBetween: {
      const std::optional<int> high = Compare(value, ops.at(1));
      const std::optional<int> ordered = Compare(ops[0], ops[1]);
      if (!first || !high || !ordered) return false;
      if (*ordered <= 0) return *first >= 0 && *high <= 0;
      return *first >= 0 || *high <= 0;  // wraps around
    }
    case ConditionOp::kPresent: return !IsPresentFalse(c);
    case ConditionOp::kGlob: {
      const auto* text = std::get_if<std::string>(&value);
      return text != nullptr && ActionMatches(std::get<std::string>(ops.at(0)), *text);
    }
  }
  return true;
}

// The values left by eq / in conditions that satisfy every condition; nullopt when no eq / in
// condition restricts the attribute to a finite set.
std::optional<std::vector<ConditionValue>> FiniteCandidates(const Conditions& conditions) {
  std::optional<std::vector<ConditionValue>> candidates;
  for (const Condition* c : conditions) {
    if (c->op == ConditionOp::kEq || c->op == ConditionOp::kIn) {
      candidates = c->operands;
      break;
    }
  }
  if (!candidates) return std::nullopt;
  std::erase_if(*candidates, [&](const ConditionValue& value) {
    return std::any_of(conditions.begin(), conditions.end(),
                       [&](const Condition* c) { return !HoldsFor(*c, value); });
  });
  return candidates;
}

// An absent attribute fails every test but present = false, ne and not_in.
bool AbsenceConflict(const Conditions& conditions) {
  auto absent = [](const Condition* c) { return IsPresentFalse(*c); };
  if (std::none_of(conditions.begin(), conditions.end(), absent)) return false;
  return std::any_of(conditions.begin(), conditions.end(), [](const Condition* c) {
    return c->op != ConditionOp::kNe && c->op != ConditionOp::kNotIn && !IsPresentFalse(*c);
  });
}

struct Bound {
  ConditionValue value;
  bool strict = false;
};

void Tighten(std::optional<Bound>& bound, const ConditionValue& value, bool strict, int better) {
  const std::optional<int> order = Compare(value, bound ? bound->value : value);
  if (!bound || order == better || (order == 0 && strict)) bound = Bound{value, strict};
}

// Whether the ordering and glob tests leave no value: they need different value types, or the
// lower bound lies above the upper one.
bool BoundsConflict(const Conditions& conditions) {
  std::optional<std::size_t> type;
  std::optional<Bound> low, high;
  for (const Condition* c : conditions) {
    if (!IsOrdering(c->op) && c->op != ConditionOp::kGlob) continue;
    const std::size_t needed = c->op == ConditionOp::kGlob ? 0 : c->operands.at(0).index();
    if (type && *type != needed) return true;
    type = needed;
    const ConditionValue& v = c->operands.at(0);
    if (c->op == ConditionOp::kGt || c->op == ConditionOp::kGe) {
      Tighten(low, v, c->op == ConditionOp::kGt, 1);
    } else if (c->op == ConditionOp::kLt || c->op == ConditionOp::kLe) {
      Tighten(high, v, c->op == ConditionOp::kLt, -1);
    } else if (c->op == ConditionOp::kBetween && Compare(v, c->operands.at(1)) <= 0) {
      Tighten(low, v, false, 1);
      Tighten(high, c->operands[1], false, -1);
    }
  }
  if (!low || !high) return false;
  if (const auto* lo = std::get_if<std::int64_t>(&low->value)) {
    const std::int64_t hi = std::get<std::int64_t>(high->value);
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
    if ((low->strict && *lo == kMax) || (high->strict && hi == kMin)) return true;
    return *lo + (low->strict ? 1 : 0) > hi - (high->strict ? 1 : 0);
  }
  const int order = Compare(low->value, high->value).value_or(0);
  return order > 0 || (order == 0 && (low->strict || high->strict));
}

std::string JoinTexts(const Conditions& conditions) {
  std::string text;
  for (const Condition* c : conditions) text += (text.empty() ? "" : "; ") + c->text;
  return text;
}

std::string ActionReason(const Rule& rule, const Conditions& action_conditions) {
  const std::optional<std::vector<ConditionValue>> values = FiniteCandidates(action_conditions);
  if (!values) return {};
  for (const ConditionValue& value : *values) {
    const auto* action = std::get_if<std::string>(&value);
    if (action == nullptr) continue;
    for (const std::string& pattern : rule.actions) {
      if (ActionMatches(pattern, *action)) return {};
    }
  }
  return "its when conditions on request.action (" + JoinTexts(action_conditions) +
         ") allow no action that its actions match";
}

bool ServiceMeetsAll(const Service& service, const Conditions& conditions) {
  const CallerIdentity no_caller{};
  const RequestFacts no_facts{};
  const std::vector<std::string> no_groups;
  const EvalSubject subject{
      .service = &service, .identity = &no_caller, .group_names = &no_groups, .facts = &no_facts};
  return std::all_of(conditions.begin(), conditions.end(), [&](const Condition* c) {
    return EvaluateCondition(*c, subject).value_or(false);
  });
}

Conditions OfKind(const std::vector<Condition>& conditions, AttributeKind kind) {
  Conditions out;
  for (const Condition& c : conditions) {
    if (c.attribute.kind == kind) out.push_back(&c);
  }
  return out;
}

std::string ServiceReason(const Policy& policy, const Rule& rule) {
  const Conditions by_name = OfKind(rule.when, AttributeKind::kServiceName);
  if (std::none_of(by_name.begin(), by_name.end(), [](const Condition* c) {
        return c->op == ConditionOp::kEq || c->op == ConditionOp::kIn;
      })) {
    return {};
  }
  std::string names;
  std::vector<const Service*> named;
  for (const Service& service : policy.services) {
    if (!ServiceMeetsAll(service, by_name)) continue;
    named.push_back(&service);
    names += (names.empty() ? "'" : ", '") + service.name + "'";
  }
  if (named.empty()) return {};  // services of other hosts: a fleet-wide rule
  const Conditions by_attribute = OfKind(rule.when, AttributeKind::kServiceAttribute);
  std::erase_if(named, [&](const Service* s) { return !ServiceMeetsAll(*s, by_attribute); });
  if (named.empty()) {
    return "it names service " + names + " by service.name, and none has " +
           JoinTexts(by_attribute);
  }
  Conditions unless;
  for (const Condition& c : rule.unless) unless.push_back(&c);
  const bool service_only = std::all_of(unless.begin(), unless.end(), [](const Condition* c) {
    return c->attribute.kind == AttributeKind::kServiceName ||
           c->attribute.kind == AttributeKind::kServiceAttribute;
  });
  if (!unless.empty() && service_only &&
      std::all_of(named.begin(), named.end(),
                  [&](const Service* s) { return ServiceMeetsAll(*s, unless); })) {
    return "every service it names (" + names + ") meets its unless conditions (" +
           JoinTexts(unless) + ")";
  }
  return {};
}

}  // namespace

std::string TypeMismatchReason(const Condition& condition) {
  const ConditionOp op = condition.op;
  if (op == ConditionOp::kPresent || op == ConditionOp::kNe || op == ConditionOp::kNotIn) {
    return {};
  }
  const bool integer = condition.attribute.IntegerValued();
  const bool any_fits = std::any_of(
      condition.operands.begin(), condition.operands.end(), [&](const ConditionValue& value) {
        return std::holds_alternative<std::int64_t>(value) == integer;
      });
  if (any_fits && op != ConditionOp::kGlob) return {};
  if (op == ConditionOp::kGlob && !integer) return {};
  return condition.text + " can never hold: " + condition.attribute.name + " is " +
         (integer ? "an integer" : "a string") + " and " +
         (op == ConditionOp::kGlob ? "glob matches strings" : "the values are not");
}

std::string NeverMatchesReason(const Policy& policy, const Rule& rule) {
  std::map<std::string, Conditions> by_attribute;
  for (const Condition& c : rule.when) by_attribute[c.attribute.name].push_back(&c);
  for (const auto& [name, conditions] : by_attribute) {
    // A list-valued claim (jwt.groups) may hold two eq values at once: only absence conflicts.
    if (conditions.front()->attribute.ListValued()) {
      if (AbsenceConflict(conditions)) {
        return "its when conditions on " + name + " cannot all hold (" + JoinTexts(conditions) +
               ")";
      }
      continue;
    }
    const std::optional<std::vector<ConditionValue>> values = FiniteCandidates(conditions);
    if (AbsenceConflict(conditions) || (values && values->empty()) ||
        BoundsConflict(conditions)) {
      return "its when conditions on " + name + " cannot all hold (" + JoinTexts(conditions) +
             ")";
    }
  }
  if (auto found = by_attribute.find("request.action"); found != by_attribute.end()) {
    if (std::string reason = ActionReason(rule, found->second); !reason.empty()) return reason;
  }
  return ServiceReason(policy, rule);
}

}  // namespace dbproxy
