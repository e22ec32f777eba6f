#include "common/policy/rule_parse.hpp"

#include <array>

#include "common/policy/actions.hpp"
#include "common/store/credential_store_format.hpp"
#include "common/core/toml_reader.hpp"

namespace dbproxy {
namespace {

struct OperatorName {
  std::string_view name;
  ConditionOp op;
};

constexpr std::array<OperatorName, 11> kOperators = {{
    {"eq", ConditionOp::kEq}, {"ne", ConditionOp::kNe}, {"lt", ConditionOp::kLt},
    {"le", ConditionOp::kLe}, {"gt", ConditionOp::kGt}, {"ge", ConditionOp::kGe},
    {"in", ConditionOp::kIn}, {"not_in", ConditionOp::kNotIn},
    {"between", ConditionOp::kBetween}, {"present", ConditionOp::kPresent},
    {"glob", ConditionOp::kGlob},
}};

std::optional<ConditionOp> FindOperator(std::string_view name) {
  for (const OperatorName& known : kOperators) {
    if (known.name == name) return known.op;
  }
  return std::nullopt;
}

bool IsOperatorTable(const toml::table& table) {
  if (table.empty()) return false;
  for (const auto& [key, value] : table) {
    if (!FindOperator(key.str())) return false;
  }
  return true;
}

std::optional<ConditionValue> ScalarValue(const toml::node& node) {
  if (const auto* text = node.as_string()) return ConditionValue(text->get());
  if (const auto* number = node.as_integer()) return ConditionValue(number->get());
  return std::nullopt;
}

class ConditionReader {
 public:
  ConditionReader(TableReader& rule, std::vector<Condition>& out) : rule_(rule), out_(out) {}

  // Walks `table`, joining nested keys with '.', until it reaches values or operator tables.
  void Walk(const toml::table& table, const std::string& prefix) {
    for (const auto& [key, value] : table) {
      const std::string name = prefix.empty() ? std::string(key.str())
                                              : prefix + "." + std::string(key.str());
      const toml::table* nested = value.as_table();
      std::optional<AttributeRef> attribute = ParseAttributeRef(name);
      if (nested != nullptr && !IsOperatorTable(*nested)) {
        if (attribute) {  // a whole attribute name: its table must hold operators only
          std::string unknown;
          for (const auto& [op_name, ignored] : *nested) {
            if (!FindOperator(op_name.str())) unknown += (unknown.empty() ? "'" : ", '") +
                                                         std::string(op_name.str()) + "'";
          }
          rule_.AddError(&value, nested->empty()
                                     ? "empty condition on '" + name + "'"
                                     : "unknown operator " + unknown + " in the condition on '" +
                                           name + "' (eq ne lt le gt ge in not_in between " +
                                           "present glob)");
          continue;
        }
        Walk(*nested, name);
        continue;
      }
      if (!attribute) {
        rule_.AddError(&value, "unknown attribute '" + name +
                                   "' (service.*, caller.*, request.*, time.utc, time.weekday, "
                                   "jwt.*, saml.*)");
        continue;
      }
      if (nested != nullptr) {
        for (const auto& [op_name, operand] : *nested) {
          Add(*attribute, *FindOperator(op_name.str()), operand, name + " " +
              std::string(op_name.str()));
        }
      } else if (value.is_array()) {
        Add(*attribute, ConditionOp::kIn, value, name + " in");
      } else {
        Add(*attribute, ConditionOp::kEq, value, name + " =");
      }
    }
  }

 private:
  void Add(const AttributeRef& attribute, ConditionOp op, const toml::node& operand,
           const std::string& text) {
    Condition condition{.attribute = attribute, .op = op, .operands = {}, .text = text};
    if (attribute.ListValued() && IsOrdering(op)) {
      return Fail(operand, "'" + text + "': " + attribute.name +
                               (attribute.kind == AttributeKind::kJwtClaim
                                    ? " is a token claim (a string or a list of strings)"
                                    : " is a SAML attribute (a list of strings)") +
                               "; lt, le, gt, ge and between do not apply to it");
    }
    if (op == ConditionOp::kPresent) {
      const auto* flag = operand.as_boolean();
      if (flag == nullptr) return Fail(operand, "'present' takes true or false");
      condition.operands.emplace_back(std::int64_t{flag->get() ? 1 : 0});
    } else if (op == ConditionOp::kIn || op == ConditionOp::kNotIn || op == ConditionOp::kBetween) {
      const toml::array* array = operand.as_array();
      if (array == nullptr) return Fail(operand, "'" + text + "' takes an array");
      for (const toml::node& element : *array) {
        std::optional<ConditionValue> item = ScalarValue(element);
        if (!item) return Fail(element, "condition values must be strings or integers");
        condition.operands.push_back(std::move(*item));
      }
      if (op == ConditionOp::kBetween &&
          (condition.operands.size() != 2 ||
           condition.operands[0].index() != condition.operands[1].index())) {
        return Fail(operand, "'between' takes [low, high] of one type");
      }
    } else {
      std::optional<ConditionValue> item = ScalarValue(operand);
      if (!item) return Fail(operand, "condition values must be strings or integers");
      if (op == ConditionOp::kGlob && !std::holds_alternative<std::string>(*item)) {
        return Fail(operand, "'glob' takes a string pattern");
      }
      condition.operands.push_back(std::move(*item));
    }
    for (const ConditionValue& value : condition.operands) {
      if (const auto* text_value = std::get_if<std::string>(&value)) {
        condition.text += " \"" + *text_value + "\"";
      } else {
        condition.text += " " + std::to_string(std::get<std::int64_t>(value));
      }
    }
    out_.push_back(std::move(condition));
  }

  void Fail(const toml::node& node, const std::string& message) { rule_.AddError(&node, message); }

  TableReader& rule_;
  std::vector<Condition>& out_;
};

}  // namespace

std::string ReadName(TableReader& reader, std::string_view key, std::string_view kind,
                     std::string_view what) {
  const std::optional<std::string> given = reader.String(key, true);
  if (given && !IsValidName(*given)) reader.AddError(reader.Peek(key), "invalid " + std::string(what));
  std::string name = given.value_or("");
  reader.set_context(std::string(kind) + " '" + name + "'");
  return name;
}

void ReadRule(const toml::table& table, std::string_view source, Policy& policy,
              std::vector<std::string>& errors) {
  Rule rule;
  TableReader reader(table, source, "rule", errors);
  rule.source = reader.Where();
  rule.id = ReadName(reader, "id", "rule", "rule id");
  if (auto effect = reader.String("effect", true)) {
    if (*effect == "allow") {
      rule.effect = RuleEffect::kAllow;
    } else if (*effect == "deny") {
      rule.effect = RuleEffect::kDeny;
    } else {
      reader.AddError(reader.Peek("effect"), "effect must be \"allow\" or \"deny\"");
    }
  }
  if (auto actions = reader.StringArray("actions", true)) {
    for (const std::string& action : *actions) {
      Result<std::string> normal = NormalizeActionPattern(action);
      if (!normal) {
        reader.AddError(reader.Peek("actions"), normal.error().message);
        continue;
      }
      rule.actions.push_back(std::move(*normal));
    }
  }
  if (const toml::table* when = reader.Table("when")) {
    ConditionReader(reader, rule.when).Walk(*when, "");
  }
  if (const toml::table* unless = reader.Table("unless")) {
    ConditionReader(reader, rule.unless).Walk(*unless, "");
  }
  if (auto description = reader.String("description")) rule.description = *description;
  reader.Finish();
  policy.rules.push_back(std::move(rule));
}

}  // namespace dbproxy
