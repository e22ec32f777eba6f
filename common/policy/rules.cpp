#include "common/policy/rules.hpp"

#include <algorithm>
#include <array>
#include <ctime>
#include <utility>

#include "common/policy/policy.hpp"

namespace dbproxy {
namespace {

struct NamedAttribute {
  std::string_view name;
  AttributeKind kind;
};

constexpr std::array<NamedAttribute, 25> kAttributes = {{
    {"service.name", AttributeKind::kServiceName},
    {"caller.uid", AttributeKind::kCallerUid},
    {"caller.gid", AttributeKind::kCallerGid},
    {"caller.user", AttributeKind::kCallerUser},
    {"caller.group", AttributeKind::kCallerGroup},
    {"caller.unit", AttributeKind::kCallerUnit},
    {"caller.exe", AttributeKind::kCallerExe},
    {"request.action", AttributeKind::kRequestAction},
    {"request.workspace", AttributeKind::kRequestWorkspace},
    {"request.method", AttributeKind::kRequestMethod},
    {"request.path", AttributeKind::kRequestPath},
    {"request.warehouse", AttributeKind::kRequestWarehouse},
    {"request.row_limit", AttributeKind::kRequestRowLimit},
    {"request.byte_limit", AttributeKind::kRequestByteLimit},
    {"request.statement_bytes", AttributeKind::kRequestStatementBytes},
    {"request.job_id", AttributeKind::kRequestJobId},
    {"request.disposition", AttributeKind::kRequestDisposition},
    {"request.node_type", AttributeKind::kRequestNodeType},
    {"request.driver_node_type", AttributeKind::kRequestDriverNodeType},
    {"request.num_workers", AttributeKind::kRequestNumWorkers},
    {"request.secret_scope", AttributeKind::kRequestSecretScope},
    {"request.secret_key", AttributeKind::kRequestSecretKey},
    {"request.target_path", AttributeKind::kRequestTargetPath},
    {"time.utc", AttributeKind::kTimeUtc},
    {"time.weekday", AttributeKind::kTimeWeekday},
}};

std::optional<AttributeValue> Text(std::string_view value) { return AttributeValue(value); }
std::optional<AttributeValue> NonEmpty(const std::string& value) {
  if (value.empty()) return std::nullopt;
  return AttributeValue(std::string_view(value));
}
std::optional<AttributeValue> Number(std::int64_t value) { return AttributeValue(value); }
std::optional<AttributeValue> Maybe(const std::optional<std::string>& value) {
  if (!value) return std::nullopt;
  return AttributeValue(std::string_view(*value));
}
std::optional<AttributeValue> Maybe(const std::optional<std::int64_t>& value) {
  if (!value) return std::nullopt;
  return AttributeValue(*value);
}

std::tm Utc(std::int64_t now_unix) {
  const auto seconds = static_cast<std::time_t>(now_unix);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  return utc;
}

// -1, 0, 1; nullopt when the types differ (a string never compares with a number).
std::optional<int> Compare(const AttributeValue& a, const ConditionValue& b) {
  if (const auto* text = std::get_if<std::string_view>(&a)) {
    if (!std::holds_alternative<std::string>(b)) return std::nullopt;
    const int c = text->compare(std::get<std::string>(b));
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  const auto* number = std::get_if<std::int64_t>(&a);
  if (number == nullptr || !std::holds_alternative<std::int64_t>(b)) return std::nullopt;
  const std::int64_t x = *number, y = std::get<std::int64_t>(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

bool Equal(const AttributeValue& a, const ConditionValue& b) { return Compare(a, b) == 0; }

bool Between(const AttributeValue& value, const ConditionValue& low, const ConditionValue& high) {
  const std::optional<int> above_low = Compare(value, low);
  const std::optional<int> below_high = Compare(value, high);
  if (!above_low || !below_high) return false;
  const bool ordered = std::holds_alternative<std::string>(low)
                           ? std::get<std::string>(low) <= std::get<std::string>(high)
                           : std::get<std::int64_t>(low) <= std::get<std::int64_t>(high);
  if (ordered) return *above_low >= 0 && *below_high <= 0;
  return *above_low >= 0 || *below_high <= 0;  // wraps around, e.g. "22:00".."06:00"
}

bool Holds(const Condition& condition, const std::optional<AttributeValue>& value);

// A list-valued attribute (jwt.*, saml.*): eq, in and glob hold when some element passes, ne and
// not_in when every element does (no element matches); ordering tests never hold.
bool HoldsForList(const Condition& condition, std::span<const std::string> list) {
  const auto element_holds = [&condition](const std::string& element) {
    return Holds(condition, AttributeValue(std::string_view(element)));
  };
  switch (condition.op) {
    case ConditionOp::kPresent: return std::get<std::int64_t>(condition.operands.at(0)) != 0;
    case ConditionOp::kEq:
    case ConditionOp::kIn:
    case ConditionOp::kGlob: return std::any_of(list.begin(), list.end(), element_holds);
    case ConditionOp::kNe:
    case ConditionOp::kNotIn: return std::all_of(list.begin(), list.end(), element_holds);
    default: return false;
  }
}

bool Holds(const Condition& condition, const std::optional<AttributeValue>& value) {
  if (value) {
    if (const auto* list = std::get_if<std::span<const std::string>>(&*value)) {
      return HoldsForList(condition, *list);
    }
  }
  const std::vector<ConditionValue>& operands = condition.operands;
  switch (condition.op) {
    case ConditionOp::kPresent:
      return value.has_value() == (std::get<std::int64_t>(operands.at(0)) != 0);
    case ConditionOp::kNe:
      return !value || !Equal(*value, operands.at(0));
    case ConditionOp::kNotIn:
      return !value || std::none_of(operands.begin(), operands.end(),
                                    [&](const ConditionValue& o) { return Equal(*value, o); });
    default:
      break;
  }
  if (!value) return false;
  switch (condition.op) {
    case ConditionOp::kEq: return Equal(*value, operands.at(0));
    case ConditionOp::kIn:
      return std::any_of(operands.begin(), operands.end(),
                         [&](const ConditionValue& o) { return Equal(*value, o); });
    case ConditionOp::kLt: return Compare(*value, operands.at(0)) == -1;
    case ConditionOp::kLe: return Compare(*value, operands.at(0)).value_or(1) <= 0;
    case ConditionOp::kGt: return Compare(*value, operands.at(0)) == 1;
    case ConditionOp::kGe: return Compare(*value, operands.at(0)).value_or(-1) >= 0;
    case ConditionOp::kBetween: return Between(*value, operands.at(0), operands.at(1));
    case ConditionOp::kGlob: {
      const auto* text = std::get_if<std::string_view>(&*value);
      return text != nullptr && ActionMatches(std::get<std::string>(operands.at(0)), *text);
    }
    default: return false;
  }
}

}  // namespace

bool AttributeRef::CallLevel() const {
  switch (kind) {
    case AttributeKind::kRequestMethod:
    case AttributeKind::kRequestPath:
    case AttributeKind::kRequestWarehouse:
    case AttributeKind::kRequestRowLimit:
    case AttributeKind::kRequestByteLimit:
    case AttributeKind::kRequestStatementBytes:
    case AttributeKind::kRequestJobId:
    case AttributeKind::kRequestDisposition:
    case AttributeKind::kRequestNodeType:
    case AttributeKind::kRequestDriverNodeType:
    case AttributeKind::kRequestNumWorkers:
    case AttributeKind::kRequestSecretScope:
    case AttributeKind::kRequestSecretKey:
    case AttributeKind::kRequestTargetPath:
      return true;
    default:
      return false;
  }
}

bool AttributeRef::IntegerValued() const {
  switch (kind) {
    case AttributeKind::kCallerUid:
    case AttributeKind::kCallerGid:
    case AttributeKind::kRequestRowLimit:
    case AttributeKind::kRequestByteLimit:
    case AttributeKind::kRequestStatementBytes:
    case AttributeKind::kRequestNumWorkers:
      return true;
    default:
      return false;
  }
}

std::optional<AttributeRef> ParseAttributeRef(std::string_view name) {
  for (const NamedAttribute& known : kAttributes) {
    if (known.name == name) {
      return AttributeRef{.kind = known.kind, .key = {}, .name = std::string(name)};
    }
  }
  constexpr std::string_view kServicePrefix = "service.";
  if (name.starts_with(kServicePrefix) && name.size() > kServicePrefix.size() &&
      name.find('*') == std::string_view::npos) {
    return AttributeRef{.kind = AttributeKind::kServiceAttribute,
                        .key = std::string(name.substr(kServicePrefix.size())),
                        .name = std::string(name)};
  }
  constexpr std::string_view kJwtPrefix = "jwt.";
  if (name.starts_with(kJwtPrefix) && IsValidClaimName(name.substr(kJwtPrefix.size()))) {
    return AttributeRef{.kind = AttributeKind::kJwtClaim,
                        .key = std::string(name.substr(kJwtPrefix.size())),
                        .name = std::string(name)};
  }
  constexpr std::string_view kSamlPrefix = "saml.";
  if (name.starts_with(kSamlPrefix) && IsValidClaimName(name.substr(kSamlPrefix.size()))) {
    return AttributeRef{.kind = AttributeKind::kSamlAttribute,
                        .key = std::string(name.substr(kSamlPrefix.size())),
                        .name = std::string(name)};
  }
  return std::nullopt;
}

bool IsValidClaimName(std::string_view claim) {
  constexpr std::size_t kMaxClaimName = 128;
  if (claim.empty() || claim.size() > kMaxClaimName) return false;
  return std::all_of(claim.begin(), claim.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.' || c == ':' || c == '/';
  });
}

std::optional<AttributeValue> LookupAttribute(const AttributeRef& ref, const EvalSubject& s) {
  const CallerIdentity& id = *s.identity;
  const RequestFacts& facts = *s.facts;
  switch (ref.kind) {
    case AttributeKind::kServiceName: return Text(s.service->name);
    case AttributeKind::kServiceAttribute: {
      auto found = s.service->attributes.find(ref.key);
      if (found == s.service->attributes.end()) return std::nullopt;
      return Text(found->second);
    }
    case AttributeKind::kCallerUid: return Number(id.uid);
    case AttributeKind::kCallerGid: return Number(id.gid);
    case AttributeKind::kCallerUser: return NonEmpty(id.user);
    case AttributeKind::kCallerGroup: return NonEmpty(id.group);
    case AttributeKind::kCallerUnit: return NonEmpty(id.unit);
    case AttributeKind::kCallerExe: return NonEmpty(id.exe);
    case AttributeKind::kRequestAction: return Text(facts.action);
    case AttributeKind::kRequestWorkspace: return Text(facts.workspace);
    case AttributeKind::kRequestMethod: return NonEmpty(facts.method);
    case AttributeKind::kRequestPath: return NonEmpty(facts.path);
    case AttributeKind::kRequestWarehouse: return Maybe(facts.warehouse);
    case AttributeKind::kRequestRowLimit: return Maybe(facts.row_limit);
    case AttributeKind::kRequestByteLimit: return Maybe(facts.byte_limit);
    case AttributeKind::kRequestStatementBytes: return Maybe(facts.statement_bytes);
    case AttributeKind::kRequestJobId: return Maybe(facts.job_id);
    case AttributeKind::kRequestDisposition: return Maybe(facts.disposition);
    case AttributeKind::kRequestNodeType: return Maybe(facts.node_type);
    case AttributeKind::kRequestDriverNodeType: return Maybe(facts.driver_node_type);
    case AttributeKind::kRequestNumWorkers: return Maybe(facts.num_workers);
    case AttributeKind::kRequestSecretScope: return Maybe(facts.secret_scope);
    case AttributeKind::kRequestSecretKey: return Maybe(facts.secret_key);
    case AttributeKind::kRequestTargetPath: return Maybe(facts.target_path);
    case AttributeKind::kTimeUtc: {
      thread_local char text[8];
      const std::tm utc = Utc(facts.now_unix);
      std::snprintf(text, sizeof text, "%02d:%02d", utc.tm_hour % 24, utc.tm_min % 60);
      return Text(std::string_view(text, 5));
    }
    case AttributeKind::kTimeWeekday: {
      static constexpr std::array<std::string_view, 7> kDays = {"sun", "mon", "tue", "wed",
                                                                "thu", "fri", "sat"};
      return Text(kDays.at(static_cast<std::size_t>(Utc(facts.now_unix).tm_wday % 7)));
    }
    case AttributeKind::kJwtClaim: {
      if (s.jwt == nullptr) return std::nullopt;
      // Keyed by the full name ("jwt.groups"), so the lookup needs no string built.
      auto found = s.jwt->find(ref.name);
      if (found == s.jwt->end()) return std::nullopt;
      if (const auto* text = std::get_if<std::string>(&found->second)) {
        return AttributeValue(std::span<const std::string>(text, 1));
      }
      return AttributeValue(std::span<const std::string>(std::get<1>(found->second)));
    }
    case AttributeKind::kSamlAttribute: {
      if (s.saml == nullptr) return std::nullopt;
      auto found = s.saml->find(ref.name);  // keyed by the full name, as jwt.* are
      if (found == s.saml->end()) return std::nullopt;
      return AttributeValue(std::span<const std::string>(found->second));
    }
  }
  return std::nullopt;
}

std::optional<bool> EvaluateCondition(const Condition& condition, const EvalSubject& subject,
                                      bool call_facts_known) {
  if (!call_facts_known && condition.attribute.CallLevel()) return std::nullopt;
  return Holds(condition, LookupAttribute(condition.attribute, subject));
}

}  // namespace dbproxy
