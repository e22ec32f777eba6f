// Policy files (TOML) -> Policy. Everything is validated here so evaluation never meets a
// malformed policy.
#include <sodium.h>

#include <algorithm>
#include <set>

#include "common/policy/actions.hpp"
#include "common/store/credential_store_format.hpp"
#include "common/oauth/oauth.hpp"
#include "common/policy/policy.hpp"
#include "common/policy/rule_parse.hpp"
#include "common/core/toml_reader.hpp"

namespace dbproxy {
namespace {

constexpr std::uint32_t kMaxId = 0xFFFFFFFEu;  // (uid_t)-1 means "no change" to the kernel

bool ReadMatch(TableReader& parent, const toml::table& table, std::string_view source,
               ServiceMatch& out, std::vector<std::string>& errors) {
  TableReader reader(table, source, parent.context() + " match", errors);
  out.unit = reader.String("unit");
  if (auto uid = reader.Int("uid", 0, kMaxId)) out.uid = static_cast<uid_t>(*uid);
  out.user = reader.String("user");
  if (auto gid = reader.Int("gid", 0, kMaxId)) out.gid = static_cast<gid_t>(*gid);
  out.group = reader.String("group");
  out.exe = reader.String("exe");
  reader.Finish();
  for (const char* key : {"unit", "user", "group"}) {
    const std::optional<std::string>& value =
        key[0] == 'u' ? (key[1] == 'n' ? out.unit : out.user) : out.group;
    if (value && value->empty()) reader.AddError(reader.Peek(key), std::string("'") + key + "' must not be empty");
  }
  if (out.exe && (out.exe->empty() || out.exe->front() != '/')) {
    reader.AddError(reader.Peek("exe"), "'exe' must be an absolute path");
  }
  if (out.Specificity() == 0) {
    reader.AddError(nullptr, "match needs at least one of unit, uid, user, gid, group, exe");
    return false;
  }
  return true;
}

// The name rule of an [[idp]] in agent.toml (common/core/config.cpp).
bool IsValidIdpName(std::string_view name) {
  constexpr std::size_t kMaxIdpName = 64;
  return !name.empty() && name.size() <= kMaxIdpName &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
         });
}

void ReadService(const toml::table& table, std::string_view source, Policy& policy,
                 std::vector<std::string>& errors) {
  Service service;
  TableReader reader(table, source, "service", errors);
  service.source = reader.Where();
  service.name = ReadName(reader, "name", "service", "service name");
  if (const toml::table* match = reader.Table("match", true)) {
    ReadMatch(reader, *match, source, service.match, errors);
  }
  if (auto attributes = reader.StringMap("attributes")) service.attributes = *attributes;
  if (auto workspace = reader.String("workspace")) service.workspace = *workspace;
  if (auto roles = reader.StringArray("roles")) service.roles = *roles;
  if (auto scope = reader.String("metadata_scope")) {
    Result<std::string> canonical = CanonicalScope(*scope);
    if (!canonical || canonical->empty()) {
      reader.AddError(reader.Peek("metadata_scope"), "'metadata_scope' is not a token scope");
    } else {
      service.metadata_scope = *canonical;
    }
  }
  const auto read_provider = [&reader](const char* key, const char* kind, std::string& out) {
    if (auto idp = reader.String(key)) {
      if (IsValidIdpName(*idp)) {
        out = *idp;
      } else {
        reader.AddError(reader.Peek(key), std::string("'") + key + "' must name " + kind +
                                              " ([a-z0-9_-], 1 to 64 characters)");
      }
    }
  };
  read_provider("require_jwt", "an [[idp]]", service.require_jwt);
  read_provider("require_saml", "a [[saml_idp]]", service.require_saml);
  reader.Finish();
  policy.services.push_back(std::move(service));
}

// A clamp flag: `key` = true|false, and only beside a `max_key` of at least 1 (Databricks reads
// a row_limit or byte_limit of 0 as "no limit", so clamping to 0 would lift the limit).
bool ReadClamp(TableReader& reader, std::string_view key, std::string_view max_key,
               const std::optional<std::int64_t>& max) {
  const toml::node* node = reader.Peek(key);
  if (node == nullptr) return false;
  reader.MarkRead(key);
  const auto* flag = node->as_boolean();
  if (flag == nullptr) {
    reader.AddError(node, std::string(key) + " must be true or false");
    return false;
  }
  if (flag->get() && (!max || *max < 1)) {
    reader.AddError(node, std::string(key) + " needs " + std::string(max_key) + " >= 1");
    return false;
  }
  return flag->get();
}

void ReadLimits(TableReader& parent, const toml::table& table, std::string_view source,
                Role& role) {
  std::vector<std::string> scratch;
  TableReader reader(table, source, parent.context() + " limits", scratch);
  constexpr std::int64_t kMax = std::int64_t{1} << 40;
  role.limits.sql_row_limit_max = reader.Int("sql_row_limit_max", 0, kMax);
  role.limits.sql_byte_limit_max = reader.Int("sql_byte_limit_max", 0, kMax);
  role.limits.sql_row_limit_clamp = ReadClamp(reader, "sql_row_limit_clamp", "sql_row_limit_max",
                                              role.limits.sql_row_limit_max);
  role.limits.sql_byte_limit_clamp = ReadClamp(
      reader, "sql_byte_limit_clamp", "sql_byte_limit_max", role.limits.sql_byte_limit_max);
  if (auto warehouses = reader.StringArray("sql_warehouses")) role.limits.sql_warehouses = *warehouses;
  role.limits.requests_per_minute = reader.Int("requests_per_minute", 1, 1'000'000);
  reader.Finish();
  for (std::string& error : scratch) parent.AddRaw(std::move(error));
}

void ReadRole(const toml::table& table, std::string_view source, Policy& policy,
              std::vector<std::string>& errors) {
  Role role;
  TableReader reader(table, source, "role", errors);
  role.source = reader.Where();
  role.name = ReadName(reader, "name", "role", "role name");
  if (auto credential = reader.String("credential", true)) role.credential = *credential;
  if (auto actions = reader.StringArray("actions", true)) {
    for (const std::string& action : *actions) {
      Result<std::string> normal = NormalizeActionPattern(action);
      if (!normal) {
        reader.AddError(reader.Peek("actions"), normal.error().message);
        continue;
      }
      role.actions.push_back(std::move(*normal));
    }
  }
  if (const toml::table* limits = reader.Table("limits")) ReadLimits(reader, *limits, source, role);
  reader.Finish();
  policy.roles.push_back(std::move(role));
}

void ReadFile(const PolicySource& file, Policy& policy, std::vector<std::string>& errors) {
  std::optional<toml::table> root = ParseToml(file.text, file.name, errors);
  if (!root) return;
  TableReader reader(*root, file.name, "top level", errors);
  auto read_array = [&](std::string_view key, auto read_one) {
    const toml::node* node = reader.Peek(key);
    reader.MarkRead(key);
    if (node == nullptr) return;
    const toml::array* array = node->as_array();
    if (array == nullptr || !array->is_array_of_tables()) {
      reader.AddError(node, "'" + std::string(key) + "' must be written as [[" +
                                std::string(key) + "]] tables");
      return;
    }
    for (const toml::node& element : *array) read_one(*element.as_table(), file.name, policy, errors);
  };
  read_array("service", ReadService);
  read_array("role", ReadRole);
  read_array("rule", ReadRule);
  reader.Finish();
}

void CheckReferences(const Policy& policy, std::vector<std::string>& errors) {
  std::set<std::string, std::less<>> service_names, role_names, rule_ids;
  for (const Rule& rule : policy.rules) {
    if (!rule_ids.insert(rule.id).second) {
      errors.push_back(rule.source + ": duplicate rule '" + rule.id + "'");
    }
  }
  for (const Role& role : policy.roles) {
    if (!role_names.insert(role.name).second) {
      errors.push_back(role.source + ": duplicate role '" + role.name + "'");
    }
  }
  for (std::size_t i = 0; i < policy.services.size(); ++i) {
    const Service& service = policy.services[i];
    if (!service_names.insert(service.name).second) {
      errors.push_back(service.source + ": duplicate service '" + service.name + "'");
    }
    for (const std::string& role : service.roles) {
      if (!role_names.contains(role)) {
        errors.push_back(service.source + ": service '" + service.name +
                         "' names undefined role '" + role + "'");
      }
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (policy.services[j].match == service.match) {
        errors.push_back(service.source + ": service '" + service.name +
                         "' has the same match as service '" + policy.services[j].name +
                         "' (" + policy.services[j].source + ")");
      }
    }
  }
}

// Candidate lists per action, so evaluation only looks at rules that can apply.
void BuildIndex(Policy& policy) {
  const std::span<const std::string_view> known = KnownActions();
  policy.rules_by_known_action.assign(known.size(), {});
  for (std::size_t i = 0; i < policy.rules.size(); ++i) {
    Rule& rule = policy.rules[i];
    bool token_pattern = false, has_pattern = false;
    for (const std::string& action : rule.actions) {
      const bool pattern = action.find('*') != std::string::npos;
      has_pattern = has_pattern || pattern;
      if (pattern && MayMatchTokenAction(action)) token_pattern = true;
      if (!pattern && action.starts_with("token:")) {
        std::vector<std::size_t>& list = policy.rules_by_token_action[action];
        if (list.empty() || list.back() != i) list.push_back(i);
      }
      for (std::size_t k = 0; k < known.size(); ++k) {
        if (ActionMatches(action, known[k])) rule.known_actions.set(k);
      }
    }
    for (std::size_t k = 0; k < known.size(); ++k) {
      if (rule.known_actions.test(k)) policy.rules_by_known_action[k].push_back(i);
    }
    if (token_pattern) policy.token_pattern_rules.push_back(i);
    if (has_pattern) ++policy.pattern_rule_count;
  }
}

std::string Revision(const std::vector<PolicySource>& files) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 8);
  for (const PolicySource& file : files) {
    const std::uint64_t sizes[2] = {file.name.size(), file.text.size()};
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(sizes), sizeof sizes);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(file.name.data()),
                              file.name.size());
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(file.text.data()),
                              file.text.size());
  }
  unsigned char digest[8];
  crypto_generichash_final(&state, digest, sizeof digest);
  char hex[sizeof digest * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

}  // namespace

bool IsPolicyFileName(std::string_view file_name) {
  return !file_name.starts_with(".") && file_name.ends_with(".toml") && file_name.size() > 5;
}

Result<Policy> ParsePolicy(const std::vector<PolicySource>& files) {
  Policy policy;
  std::vector<std::string> errors;
  for (const PolicySource& file : files) ReadFile(file, policy, errors);
  CheckReferences(policy, errors);
  if (!errors.empty()) {
    std::string message;
    for (const std::string& line : errors) message += (message.empty() ? "" : "\n") + line;
    return MakeError(Errc::kInvalidRequest, message);
  }
  BuildIndex(policy);
  policy.revision = Revision(files);
  return policy;
}

}  // namespace dbproxy
