// Randomized differential test of the rule engine: random policies are generated as a model,
// written as TOML, parsed with ParsePolicy and evaluated with Evaluate / RawTokenBypass; a
// straight-line reference evaluator over the model (no index, no shared code with the engine
// beyond ScopeReach's table) must agree on every random request.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/policy/actions.hpp"
#include "common/policy/policy.hpp"

namespace dbproxy {
namespace {

using Value = std::variant<std::string, std::int64_t>;

// ---------------------------------------------------------------------------------------------
// The model the generator builds and the reference evaluates.

struct ModelCondition {
  std::string attribute;
  std::string op;  // eq ne lt le gt ge in not_in between present glob
  std::vector<Value> operands{};
  bool present = false;  // the operand of "present"
};

struct ModelRule {
  std::string id;
  bool deny = false;
  std::vector<std::string> actions{};
  std::vector<ModelCondition> when{};
  std::vector<ModelCondition> unless{};
};

struct ModelRole {
  std::string name;
  std::vector<std::string> actions{};
  std::optional<std::int64_t> rows{};
  std::optional<std::int64_t> bytes{};
  std::vector<std::string> warehouses{};
};

struct ModelService {
  std::string name;
  std::int64_t uid = 0;
  std::map<std::string, std::string> attributes{};
  std::vector<std::string> roles{};
};

struct Model {
  std::vector<ModelService> services{};
  std::vector<ModelRole> roles{};
  std::vector<ModelRule> rules{};
};

struct Request {
  std::size_t service = 0;
  CallerIdentity identity{};
  RequestFacts facts{};
  std::vector<std::string> granted{};
  bool has_grants = false;
};

struct Expected {
  bool allow = false;
  std::string rule;
  std::string role;  // name of the role whose credential is used; "" for none
};

// ---------------------------------------------------------------------------------------------
// Reference evaluator: the contract of policy.hpp and rules.hpp, read literally.

bool Glob(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '*') {
    return Glob(pattern.substr(1), text) || (!text.empty() && Glob(pattern, text.substr(1)));
  }
  return !text.empty() && pattern[0] == text[0] && Glob(pattern.substr(1), text.substr(1));
}

bool AnyGlob(const std::vector<std::string>& patterns, std::string_view text) {
  for (const std::string& pattern : patterns) {
    if (Glob(pattern, text)) return true;
  }
  return false;
}

std::optional<Value> Text(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return Value(text);
}

template <class T>
std::optional<Value> Maybe(const std::optional<T>& value) {
  if (!value) return std::nullopt;
  return Value(*value);
}

std::optional<Value> Lookup(const std::string& attribute, const ModelService& service,
                            const Request& request) {
  const RequestFacts& facts = request.facts;
  const std::int64_t second_of_day = facts.now_unix % 86400;
  if (attribute == "service.name") return Value(service.name);
  if (attribute.starts_with("service.")) {
    auto found = service.attributes.find(attribute.substr(8));
    if (found == service.attributes.end()) return std::nullopt;
    return Value(found->second);
  }
  if (attribute == "caller.uid") return Value(std::int64_t{request.identity.uid});
  if (attribute == "caller.user") return Text(request.identity.user);
  if (attribute == "caller.unit") return Text(request.identity.unit);
  if (attribute == "request.action") return Value(facts.action);
  if (attribute == "request.workspace") return Value(facts.workspace);
  if (attribute == "request.method") return Text(facts.method);
  if (attribute == "request.warehouse") return Maybe(facts.warehouse);
  if (attribute == "request.row_limit") return Maybe(facts.row_limit);
  if (attribute == "request.byte_limit") return Maybe(facts.byte_limit);
  if (attribute == "request.job_id") return Maybe(facts.job_id);
  if (attribute == "time.utc") {
    char text[8];
    std::snprintf(text, sizeof text, "%02d:%02d", static_cast<int>(second_of_day / 3600),
                  static_cast<int>(second_of_day / 60 % 60));
    return Value(std::string(text));
  }
  if (attribute == "time.weekday") {
    static const char* const kDays[] = {"thu", "fri", "sat", "sun", "mon", "tue", "wed"};
    return Value(std::string(kDays[facts.now_unix / 86400 % 7]));  // 1970-01-01 was a Thursday
  }
  ADD_FAILURE() << "reference does not know " << attribute;
  return std::nullopt;
}

bool IsCallLevel(const std::string& attribute) {
  return attribute == "request.method" || attribute == "request.warehouse" ||
         attribute == "request.row_limit" || attribute == "request.byte_limit" ||
         attribute == "request.job_id";
}

bool Same(const Value& a, const Value& b) {
  return a.index() == b.index() && a == b;
}

bool Holds(const ModelCondition& c, const std::optional<Value>& value) {
  const std::vector<Value>& o = c.operands;
  if (c.op == "present") return value.has_value() == c.present;
  if (c.op == "ne") return !value || !Same(*value, o[0]);
  if (c.op == "not_in") {
    if (!value) return true;
    for (const Value& operand : o) {
      if (Same(*value, operand)) return false;
    }
    return true;
  }
  if (!value) return false;
  const Value& v = *value;
  if (c.op == "eq") return Same(v, o[0]);
  if (c.op == "in") {
    for (const Value& operand : o) {
      if (Same(v, operand)) return true;
    }
    return false;
  }
  if (c.op == "glob") {
    return std::holds_alternative<std::string>(v) &&
           Glob(std::get<std::string>(o[0]), std::get<std::string>(v));
  }
  if (v.index() != o[0].index()) return false;
  if (c.op == "lt") return v < o[0];
  if (c.op == "le") return v <= o[0];
  if (c.op == "gt") return v > o[0];
  if (c.op == "ge") return v >= o[0];
  // between: inclusive; a range whose low is above its high wraps around ("22:00".."06:00").
  if (o[0] <= o[1]) return o[0] <= v && v <= o[1];
  return v >= o[0] || v <= o[1];
}

// Three-valued: nullopt when the condition is on a call-level fact and those are unknown.
std::optional<bool> HoldsFor(const ModelCondition& c, const ModelService& service,
                             const Request& request, bool call_facts_known) {
  if (!call_facts_known && IsCallLevel(c.attribute)) return std::nullopt;
  return Holds(c, Lookup(c.attribute, service, request));
}

bool RuleApplies(const ModelRule& rule, const ModelService& service, const Request& request) {
  if (!AnyGlob(rule.actions, request.facts.action)) return false;
  for (const ModelCondition& c : rule.when) {
    if (!*HoldsFor(c, service, request, true)) return false;
  }
  if (rule.unless.empty()) return true;
  for (const ModelCondition& c : rule.unless) {
    if (!*HoldsFor(c, service, request, true)) return true;
  }
  return false;
}

const ModelRole* FindRole(const Model& model, const std::string& name) {
  for (const ModelRole& role : model.roles) {
    if (role.name == name) return &role;
  }
  return nullptr;
}

// The service's roles, then granted ones not among them; names missing from the model skipped.
std::vector<const ModelRole*> RolesInOrder(const Model& model, const Request& request) {
  const ModelService& service = model.services[request.service];
  std::vector<const ModelRole*> out;
  for (const std::string& name : service.roles) {
    if (const ModelRole* role = FindRole(model, name)) out.push_back(role);
  }
  if (!request.has_grants) return out;
  for (const std::string& name : request.granted) {
    const bool own =
        std::find(service.roles.begin(), service.roles.end(), name) != service.roles.end();
    const ModelRole* role = FindRole(model, name);
    if (!own && role != nullptr) out.push_back(role);
  }
  return out;
}

bool WithinLimits(const ModelRole& role, const RequestFacts& facts) {
  if (facts.action != "sql.execute") return true;
  if (role.rows && (!facts.row_limit || *facts.row_limit > *role.rows)) return false;
  if (role.bytes && (!facts.byte_limit || *facts.byte_limit > *role.bytes)) return false;
  if (!role.warehouses.empty()) {
    if (!facts.warehouse) return false;
    if (std::find(role.warehouses.begin(), role.warehouses.end(), *facts.warehouse) ==
        role.warehouses.end()) {
      return false;
    }
  }
  return true;
}

Expected ReferenceEvaluate(const Model& model, const Request& request) {
  const ModelService& service = model.services[request.service];
  for (const ModelRule& rule : model.rules) {
    if (rule.deny && RuleApplies(rule, service, request)) return {false, rule.id, ""};
  }
  const std::vector<const ModelRole*> roles = RolesInOrder(model, request);
  for (const ModelRole* role : roles) {
    if (AnyGlob(role->actions, request.facts.action) && WithinLimits(*role, request.facts)) {
      return {true, "role:" + role->name, role->name};
    }
  }
  for (const ModelRule& rule : model.rules) {
    if (!rule.deny && RuleApplies(rule, service, request)) {
      return {true, rule.id, roles.empty() ? "" : roles.front()->name};
    }
  }
  return {false, "default-deny", ""};
}

std::string ReferenceBypass(const Model& model, const Request& request, std::string_view scope) {
  const std::vector<std::string> reach = ScopeReach(scope);
  std::vector<std::string> reachable_actions;
  for (std::string_view action : KnownActions()) {
    if (AnyGlob(reach, action)) reachable_actions.emplace_back(action);
  }
  const ModelService& service = model.services[request.service];
  // Each reachable action a rule covers is tried as the request's action.
  for (const ModelRule& rule : model.rules) {
    if (!rule.deny) continue;
    for (const std::string& action : reachable_actions) {
      if (!AnyGlob(rule.actions, action)) continue;
      Request probe = request;
      probe.facts.action = action;
      bool ruled_out = false;
      for (const ModelCondition& c : rule.when) {
        if (HoldsFor(c, service, probe, false) == false) ruled_out = true;
      }
      bool excused = !rule.unless.empty();
      for (const ModelCondition& c : rule.unless) {
        if (HoldsFor(c, service, probe, false) != true) excused = false;
      }
      if (!ruled_out && !excused) return rule.id;
    }
  }
  for (const ModelRole* role : RolesInOrder(model, request)) {
    const bool limited = role->rows || role->bytes || !role->warehouses.empty();
    if (limited && AnyGlob(reach, "sql.execute") && AnyGlob(role->actions, "sql.execute")) {
      return "role:" + role->name;
    }
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Generator

struct AttributeSpec {
  const char* name;
  std::vector<Value> pool;
};

std::vector<Value> Strings(std::initializer_list<const char*> items) {
  std::vector<Value> out;
  for (const char* item : items)
    out.emplace_back(std::string(item));
  return out;
}

std::vector<Value> Ints(std::initializer_list<std::int64_t> items) {
  return std::vector<Value>(items.begin(), items.end());
}

const std::vector<AttributeSpec>& Attributes() {
  static const std::vector<AttributeSpec> kSpecs = {
      {"service.name", Strings({"s0", "s1", "s2", "s3"})},
      {"service.env", Strings({"production", "staging", "dev"})},
      {"service.team", Strings({"platform", "data"})},
      {"caller.uid", Ints({0, 1000, 1001, 4242})},
      {"caller.user", Strings({"alice", "bob"})},
      {"caller.unit", Strings({"a.service", "b.service"})},
      {"request.action", Strings({"jobs.run", "jobs.read", "sql.execute", "token:sql"})},
      {"request.workspace", Strings({"prod", "dev"})},
      {"request.method", Strings({"GET", "POST"})},
      {"request.warehouse", Strings({"wh-1", "wh-2"})},
      {"request.row_limit", Ints({0, 10, 1000, 5000})},
      {"request.byte_limit", Ints({10, 1048576})},
      {"request.job_id", Strings({"1", "2"})},
      {"time.utc", Strings({"00:00", "06:00", "08:00", "12:00", "18:00", "22:00", "23:59"})},
      {"time.weekday", Strings({"mon", "tue", "wed", "thu", "fri", "sat", "sun"})},
  };
  return kSpecs;
}

const std::vector<std::string> kActionPatterns = {"jobs.run",
                                                  "jobs.read",
                                                  "sql.execute",
                                                  "sql.read",
                                                  "clusters.manage",
                                                  "clusters.read",
                                                  "uc.read",
                                                  "warehouses.read",
                                                  "token:sql",
                                                  "token:all-apis",
                                                  "token:all-apis sql",
                                                  "jobs.*",
                                                  "*.read",
                                                  "sql.*",
                                                  "*",
                                                  "token:*",
                                                  "clusters.*",
                                                  "*.manage"};
const std::vector<std::string> kRequestActions = {
    "jobs.run",        "jobs.read",      "jobs.manage",       "sql.execute", "sql.read",
    "clusters.manage", "clusters.read",  "uc.read",           "uc.write",    "warehouses.read",
    "token:sql",       "token:all-apis", "token:all-apis sql"};
const std::vector<std::string> kOps = {"eq", "ne",     "lt",      "le",      "gt",  "ge",
                                       "in", "not_in", "between", "present", "glob"};
const std::vector<std::string> kScopes = {"all-apis",      "sql",    "sql:read", "jobs",
                                          "clusters:read", "openid", "jobs sql"};
constexpr std::int64_t kMonday = 1704067200;  // 2024-01-01T00:00:00Z

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  std::int64_t Uniform(std::int64_t low, std::int64_t high) {
    return std::uniform_int_distribution<std::int64_t>(low, high)(rng_);
  }
  bool Chance(int percent) { return Uniform(0, 99) < percent; }
  template <class T>
  const T& Pick(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(Uniform(0, static_cast<std::int64_t>(items.size()) - 1))];
  }

  Model MakeModel(bool with_request_action);
  Request MakeRequest(const Model& model);

 private:
  Value RandomValue(const AttributeSpec& spec);
  ModelCondition MakeCondition(const AttributeSpec& spec);
  std::vector<ModelCondition> MakeConditions(int max, bool with_request_action);
  std::vector<std::string> MakeActions(int max);

  std::mt19937_64 rng_;
};

// Mostly from the attribute's pool; sometimes of the other type, which must never compare.
Value Generator::RandomValue(const AttributeSpec& spec) {
  const Value& value = Pick(spec.pool);
  if (!Chance(10)) return value;
  if (std::holds_alternative<std::int64_t>(value)) {
    return Value(std::to_string(std::get<std::int64_t>(value)));
  }
  return Value(std::int64_t{Uniform(0, 5)});
}

ModelCondition Generator::MakeCondition(const AttributeSpec& spec) {
  ModelCondition c{.attribute = spec.name, .op = Pick(kOps)};
  if (c.op == "present") {
    c.present = Chance(50);
  } else if (c.op == "in" || c.op == "not_in") {
    for (std::int64_t n = Uniform(0, 3); n > 0; --n)
      c.operands.push_back(RandomValue(spec));
  } else if (c.op == "between") {
    Value low = Pick(spec.pool), high = Pick(spec.pool);
    if (std::holds_alternative<std::int64_t>(low) && high < low) std::swap(low, high);
    c.operands = {low, high};
  } else if (c.op == "glob") {
    const Value& value = Pick(spec.pool);
    std::string text = std::holds_alternative<std::string>(value)
                           ? std::get<std::string>(value)
                           : std::to_string(std::get<std::int64_t>(value));
    const std::size_t cut =
        static_cast<std::size_t>(Uniform(0, static_cast<std::int64_t>(text.size())));
    switch (Uniform(0, 3)) {
      case 0:
        text = text.substr(0, cut) + "*";
        break;
      case 1:
        text = "*" + text.substr(cut);
        break;
      case 2:
        text = text.substr(0, cut) + "*" + text.substr(std::min(text.size(), cut + 1));
        break;
      default:
        break;
    }
    c.operands = {Value(text)};
  } else {
    c.operands = {RandomValue(spec)};
  }
  return c;
}

std::vector<ModelCondition> Generator::MakeConditions(int max, bool with_request_action) {
  std::vector<ModelCondition> out;
  for (std::int64_t n = Uniform(0, max); n > 0; --n) {
    const AttributeSpec& spec = Pick(Attributes());
    if (!with_request_action && std::string_view(spec.name) == "request.action") continue;
    ModelCondition c = MakeCondition(spec);
    const bool duplicate = std::any_of(out.begin(), out.end(), [&](const ModelCondition& o) {
      return o.attribute == c.attribute && o.op == c.op;
    });
    if (!duplicate) out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::string> Generator::MakeActions(int max) {
  std::vector<std::string> out;
  for (std::int64_t n = Uniform(1, max); n > 0; --n)
    out.push_back(Pick(kActionPatterns));
  return out;
}

Model Generator::MakeModel(bool with_request_action) {
  Model model;
  for (std::int64_t i = 0, n = Uniform(1, 5); i < n; ++i) {
    ModelRole role{.name = "role" + std::to_string(i), .actions = MakeActions(3)};
    if (Chance(30)) {
      if (Chance(60)) role.rows = Pick(std::vector<std::int64_t>{10, 1000});
      if (Chance(40)) role.bytes = 1048576;
      if (Chance(40))
        role.warehouses = Chance(50) ? std::vector<std::string>{"wh-1"}
                                     : std::vector<std::string>{"wh-1", "wh-2"};
    }
    model.roles.push_back(std::move(role));
  }
  for (std::int64_t i = 0, n = Uniform(1, 4); i < n; ++i) {
    ModelService service{.name = "s" + std::to_string(i), .uid = 100 + i};
    if (Chance(70)) service.attributes["env"] = std::get<std::string>(Pick(Attributes()[1].pool));
    if (Chance(50)) service.attributes["team"] = std::get<std::string>(Pick(Attributes()[2].pool));
    for (std::int64_t r = Uniform(0, 3); r > 0; --r)
      service.roles.push_back(Pick(model.roles).name);
    std::sort(service.roles.begin(), service.roles.end());
    service.roles.erase(std::unique(service.roles.begin(), service.roles.end()),
                        service.roles.end());
    std::shuffle(service.roles.begin(), service.roles.end(), rng_);
    model.services.push_back(std::move(service));
  }
  for (std::int64_t i = 0, n = Uniform(0, 50); i < n; ++i) {
    model.rules.push_back(ModelRule{.id = "r" + std::to_string(i),
                                    .deny = Chance(40),
                                    .actions = MakeActions(2),
                                    .when = MakeConditions(3, with_request_action),
                                    .unless = MakeConditions(2, with_request_action)});
  }
  return model;
}

Request Generator::MakeRequest(const Model& model) {
  Request request;
  request.service =
      static_cast<std::size_t>(Uniform(0, static_cast<std::int64_t>(model.services.size()) - 1));
  static const std::vector<std::int64_t> kUids = {0, 1000, 1001, 4242};
  static const std::vector<std::string> kUsers = {"", "alice", "bob"};
  static const std::vector<std::string> kUnits = {"", "a.service", "b.service"};
  static const std::vector<std::string> kWorkspaces = {"prod", "dev"};
  static const std::vector<std::string> kMethods = {"", "GET", "POST"};
  static const std::vector<std::string> kWarehouses = {"wh-1", "wh-2", "wh-3"};
  static const std::vector<std::int64_t> kRows = {0, 10, 999, 1000, 1001, 5000};
  static const std::vector<std::int64_t> kBytes = {10, 1048576, 1048577};
  static const std::vector<std::string> kJobs = {"1", "2"};
  request.identity.uid = static_cast<uid_t>(Pick(kUids));
  request.identity.user = Pick(kUsers);
  request.identity.unit = Pick(kUnits);
  RequestFacts& facts = request.facts;
  facts.action = Chance(25) ? "sql.execute" : Pick(kRequestActions);
  facts.workspace = Pick(kWorkspaces);
  facts.method = Pick(kMethods);
  if (Chance(60)) facts.warehouse = Pick(kWarehouses);
  if (Chance(60)) facts.row_limit = Pick(kRows);
  if (Chance(60)) facts.byte_limit = Pick(kBytes);
  if (Chance(30)) facts.job_id = Pick(kJobs);
  facts.now_unix = kMonday + Uniform(0, 21 * 86400 - 1);
  request.has_grants = Chance(50);
  for (std::int64_t n = Uniform(0, 2); request.has_grants && n > 0; --n) {
    request.granted.push_back(Chance(20) ? "ghost" : Pick(model.roles).name);
  }
  return request;
}

// ---------------------------------------------------------------------------------------------
// TOML rendering

std::string Quote(const std::string& text) {
  return "\"" + text + "\"";
}

std::string Render(const Value& value) {
  if (const auto* text = std::get_if<std::string>(&value)) return Quote(*text);
  return std::to_string(std::get<std::int64_t>(value));
}

std::string RenderList(const std::vector<Value>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i)
    out += (i ? ", " : "") + Render(values[i]);
  return out + "]";
}

std::string RenderStrings(const std::vector<std::string>& values) {
  std::vector<Value> converted(values.begin(), values.end());
  return RenderList(converted);
}

// The value of one attribute's key: a scalar, an array, or an operator table.
std::string RenderAttribute(const std::vector<const ModelCondition*>& group, Generator& gen) {
  const ModelCondition& first = *group.front();
  if (group.size() == 1 && first.op == "eq" && gen.Chance(50)) return Render(first.operands[0]);
  if (group.size() == 1 && first.op == "in" && gen.Chance(50)) return RenderList(first.operands);
  std::string out = "{ ";
  for (std::size_t i = 0; i < group.size(); ++i) {
    const ModelCondition& c = *group[i];
    out += (i ? ", " : "") + c.op + " = ";
    if (c.op == "present") {
      out += c.present ? "true" : "false";
    } else if (c.op == "in" || c.op == "not_in" || c.op == "between") {
      out += RenderList(c.operands);
    } else {
      out += Render(c.operands[0]);
    }
  }
  return out + " }";
}

// `{ "service.env" = ..., ... }` or, nested, `{ service = { env = ... }, ... }`.
std::string RenderConditions(const std::vector<ModelCondition>& conditions, Generator& gen) {
  std::vector<std::pair<std::string, std::vector<const ModelCondition*>>> groups;
  for (const ModelCondition& c : conditions) {
    auto found = std::find_if(groups.begin(), groups.end(),
                              [&](const auto& group) { return group.first == c.attribute; });
    if (found == groups.end()) {
      groups.push_back({c.attribute, {&c}});
    } else {
      found->second.push_back(&c);
    }
  }
  std::vector<std::pair<std::string, std::string>> entries;  // prefix, "key = value"
  const bool nested = gen.Chance(40);
  for (const auto& [attribute, group] : groups) {
    const std::size_t dot = attribute.find('.');
    const std::string value = RenderAttribute(group, gen);
    if (nested) {
      entries.push_back({attribute.substr(0, dot), attribute.substr(dot + 1) + " = " + value});
    } else {
      entries.push_back({"", Quote(attribute) + " = " + value});
    }
  }
  std::string out = "{ ";
  std::vector<std::string> done;
  for (const auto& [prefix, entry] : entries) {
    if (prefix.empty()) {
      out += (out.size() > 2 ? ", " : "") + entry;
      continue;
    }
    if (std::find(done.begin(), done.end(), prefix) != done.end()) continue;
    done.push_back(prefix);
    std::string inner;
    for (const auto& [other_prefix, other] : entries) {
      if (other_prefix == prefix) inner += (inner.empty() ? "" : ", ") + other;
    }
    out += (out.size() > 2 ? ", " : "") + prefix + " = { " + inner + " }";
  }
  return out + " }";
}

std::string RenderRule(const ModelRule& rule, Generator& gen) {
  std::string out = "\n[[rule]]\nid = " + Quote(rule.id) +
                    "\neffect = " + Quote(rule.deny ? "deny" : "allow") +
                    "\nactions = " + RenderStrings(rule.actions) + "\n";
  if (!rule.when.empty() || gen.Chance(10))
    out += "when = " + RenderConditions(rule.when, gen) + "\n";
  if (!rule.unless.empty()) out += "unless = " + RenderConditions(rule.unless, gen) + "\n";
  return out;
}

std::string RenderBase(const Model& model) {
  std::string out;
  for (const ModelService& service : model.services) {
    out += "[[service]]\nname = " + Quote(service.name) +
           "\nmatch = { uid = " + std::to_string(service.uid) +
           " }\nroles = " + RenderStrings(service.roles) + "\n";
    std::string attributes;
    for (const auto& [key, value] : service.attributes) {
      attributes += (attributes.empty() ? "" : ", ") + key + " = " + Quote(value);
    }
    if (!attributes.empty()) out += "attributes = { " + attributes + " }\n";
    out += "\n";
  }
  for (const ModelRole& role : model.roles) {
    out += "[[role]]\nname = " + Quote(role.name) + "\ncredential = " + Quote("sp-" + role.name) +
           "\nactions = " + RenderStrings(role.actions) + "\n";
    std::string limits;
    auto add = [&limits](const std::string& entry) {
      limits += (limits.empty() ? "" : ", ") + entry;
    };
    if (role.rows) add("sql_row_limit_max = " + std::to_string(*role.rows));
    if (role.bytes) add("sql_byte_limit_max = " + std::to_string(*role.bytes));
    if (!role.warehouses.empty()) add("sql_warehouses = " + RenderStrings(role.warehouses));
    if (!limits.empty()) out += "limits = { " + limits + " }\n";
    out += "\n";
  }
  return out;
}

// Services and roles in one file, the rules split over two more (file order is rule order).
std::vector<PolicySource> RenderFiles(const Model& model, Generator& gen) {
  std::vector<PolicySource> files = {
      PolicySource{.name = "10-base.toml", .text = RenderBase(model)},
      PolicySource{.name = "20-rules.toml", .text = ""},
      PolicySource{.name = "30-rules.toml", .text = ""}};
  const std::int64_t split = gen.Uniform(0, static_cast<std::int64_t>(model.rules.size()));
  for (std::size_t i = 0; i < model.rules.size(); ++i) {
    files[static_cast<std::int64_t>(i) < split ? 1 : 2].text += RenderRule(model.rules[i], gen);
  }
  return files;
}

std::string Describe(const Model& model, const Request& request) {
  const RequestFacts& f = request.facts;
  auto maybe = [](const auto& value) {
    if (!value) return std::string("-");
    if constexpr (std::is_same_v<std::decay_t<decltype(*value)>, std::string>)
      return *value;
    else
      return std::to_string(*value);
  };
  std::string granted;
  for (const std::string& name : request.granted)
    granted += name + " ";
  return "service=" + model.services[request.service].name +
         " uid=" + std::to_string(request.identity.uid) + " user=" + request.identity.user +
         " unit=" + request.identity.unit + " action=" + f.action + " workspace=" + f.workspace +
         " method=" + f.method + " warehouse=" + maybe(f.warehouse) +
         " row_limit=" + maybe(f.row_limit) + " byte_limit=" + maybe(f.byte_limit) +
         " job_id=" + maybe(f.job_id) + " now=" + std::to_string(f.now_unix) +
         " grants=" + (request.has_grants ? "[" + granted + "]" : "none");
}

std::string PolicyText(const std::vector<PolicySource>& files) {
  std::string out;
  for (const PolicySource& file : files)
    out += "# " + file.name + "\n" + file.text + "\n";
  return out;
}

constexpr std::uint64_t kSeed = 0x5eed2024;
// Sized for well under a second in a Debug build; DBPROXY_POLICY_RANDOM_POLICIES=N runs N
// policies instead (a soak run with other seeds).
constexpr int kPolicies = 200;
constexpr int kRequestsPerPolicy = 50;

int PolicyCount() {
  const char* text = std::getenv("DBPROXY_POLICY_RANDOM_POLICIES");
  return text != nullptr && std::atoi(text) > 0 ? std::atoi(text) : kPolicies;
}

TEST(PolicyRandomTest, EvaluateAndRawTokenBypassMatchTheReference) {
  std::map<std::string, int> kinds;  // how decisions were reached, so the test is not vacuous
  const int policies = PolicyCount();
  for (int p = 0; p < policies; ++p) {
    const std::uint64_t seed = kSeed + static_cast<std::uint64_t>(p);
    Generator gen(seed);
    // Every other policy leaves request.action out of conditions; both kinds are compared.
    const Model model = gen.MakeModel(p % 2 == 0);
    const std::vector<PolicySource> files = RenderFiles(model, gen);
    Result<Policy> policy = ParsePolicy(files);
    ASSERT_TRUE(policy) << "seed " << seed << ": " << policy.error().message << "\n"
                        << PolicyText(files);
    for (int r = 0; r < kRequestsPerPolicy; ++r) {
      const Request request = gen.MakeRequest(model);
      const Expected want = ReferenceEvaluate(model, request);
      const EvalInput input{.service = policy->FindService(model.services[request.service].name),
                            .identity = &request.identity,
                            .group_names = nullptr,
                            .facts = &request.facts,
                            .granted_roles = request.has_grants ? &request.granted : nullptr};
      std::vector<TraceStep> trace;
      const Decision got = Evaluate(*policy, input, r % 4 == 0 ? &trace : nullptr);
      const std::string got_role = got.role != nullptr ? got.role->name : "";
      ASSERT_TRUE(got.allow == want.allow && got.rule == want.rule && got_role == want.role)
          << "seed " << seed << " request " << r << ": " << Describe(model, request) << "\nwant "
          << (want.allow ? "allow " : "deny ") << want.rule << " role '" << want.role << "'\ngot  "
          << (got.allow ? "allow " : "deny ") << got.rule << " role '" << got_role << "' ("
          << got.reason << ")\n"
          << PolicyText(files);
      ++kinds[std::string(want.allow ? "allow " : "deny ") +
              (want.rule.starts_with("role:") ? "role"
               : want.rule == "default-deny"  ? "default"
                                              : "rule")];
      const std::string scope = gen.Pick(kScopes);
      const std::string want_bypass = ReferenceBypass(model, request, scope);
      ASSERT_EQ(RawTokenBypass(*policy, input, scope), want_bypass)
          << "seed " << seed << " request " << r << " scope '" << scope
          << "': " << Describe(model, request) << "\n"
          << PolicyText(files);
      ++kinds[want_bypass.empty()                ? "bypass none"
              : want_bypass.starts_with("role:") ? "bypass role"
                                                 : "bypass rule"];
    }
  }
  for (const char* kind : {"allow role", "allow rule", "deny rule", "deny default", "bypass none",
                           "bypass role", "bypass rule"}) {
    EXPECT_GT(kinds[kind], 20) << kind;
  }
}

}  // namespace
}  // namespace dbproxy
