#include "common/policy.hpp"

#include <algorithm>
#include <array>
#include <set>

#include "common/credential_store_format.hpp"
#include "common/oauth.hpp"
#include "common/toml_reader.hpp"

namespace dbproxy {
namespace {

constexpr std::array<std::string_view, 12> kNamedActions = {
    "jobs.read",  "jobs.run",       "jobs.manage",     "clusters.read",
    "clusters.manage", "sql.execute", "sql.read",      "warehouses.read",
    "uc.read",    "scim.me",        "api.unknown",     "workspace.read",
};

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
  if (out.exe && (out.exe->empty() || out.exe->front() != '/')) {
    reader.AddError(reader.Peek("exe"), "'exe' must be an absolute path");
  }
  if (out.Specificity() == 0) {
    reader.AddError(nullptr, "match needs at least one of unit, uid, user, gid, group, exe");
    return false;
  }
  return true;
}

void ReadService(const toml::table& table, std::string_view source, Policy& policy,
                 std::vector<std::string>& errors) {
  Service service;
  TableReader reader(table, source, "service", errors);
  service.source = reader.Where();
  if (auto name = reader.String("name", true)) {
    service.name = *name;
    if (!IsValidName(service.name)) reader.AddError(reader.Peek("name"), "invalid service name");
  }
  reader.set_context("service '" + service.name + "'");
  if (const toml::table* match = reader.Table("match", true)) {
    ReadMatch(reader, *match, source, service.match, errors);
  }
  if (auto attributes = reader.StringMap("attributes")) service.attributes = *attributes;
  if (auto workspace = reader.String("workspace")) service.workspace = *workspace;
  if (auto roles = reader.StringArray("roles")) service.roles = *roles;
  reader.Finish();
  policy.services.push_back(std::move(service));
}

void ReadRole(const toml::table& table, std::string_view source, Policy& policy,
              std::vector<std::string>& errors) {
  Role role;
  TableReader reader(table, source, "role", errors);
  role.source = reader.Where();
  if (auto name = reader.String("name", true)) role.name = *name;
  if (!role.name.empty() && !IsValidName(role.name)) {
    reader.AddError(reader.Peek("name"), "invalid role name");
  }
  reader.set_context("role '" + role.name + "'");
  if (auto credential = reader.String("credential", true)) role.credential = *credential;
  if (auto actions = reader.StringArray("actions", true)) {
    for (std::string& action : *actions) {
      if (!IsKnownActionPattern(action)) {
        reader.AddError(reader.Peek("actions"), "unknown action '" + action + "'");
        continue;
      }
      // Token actions name a scope; compare scopes in canonical (sorted) form.
      if (action.starts_with("token:") && action.find('*') == std::string::npos) {
        Result<std::string> scope = CanonicalScope(std::string_view(action).substr(6));
        if (!scope) {
          reader.AddError(reader.Peek("actions"), scope.error().message);
          continue;
        }
        action = "token:" + *scope;
      }
      role.actions.push_back(std::move(action));
    }
  }
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
  reader.Finish();
}

void CheckReferences(const Policy& policy, std::vector<std::string>& errors) {
  std::set<std::string, std::less<>> service_names, role_names;
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

}  // namespace

int ServiceMatch::Specificity() const {
  return int{unit.has_value()} + int{uid.has_value()} + int{user.has_value()} +
         int{gid.has_value()} + int{group.has_value()} + int{exe.has_value()};
}

bool ServiceMatch::Matches(const CallerIdentity& identity,
                           const std::vector<std::string>& group_names) const {
  if (unit && identity.unit != *unit) return false;
  if (uid && identity.uid != *uid) return false;
  if (user && (identity.user.empty() || identity.user != *user)) return false;
  if (gid && !identity.InGroup(*gid)) return false;
  if (group && identity.group != *group &&
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

Result<Policy> ParsePolicy(const std::vector<PolicySource>& files) {
  Policy policy;
  std::vector<std::string> errors;
  for (const PolicySource& file : files) ReadFile(file, policy, errors);
  if (errors.empty()) CheckReferences(policy, errors);
  if (!errors.empty()) {
    std::string message;
    for (const std::string& line : errors) message += (message.empty() ? "" : "\n") + line;
    return MakeError(Errc::kInvalidRequest, message);
  }
  return policy;
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

bool IsKnownActionPattern(std::string_view action) {
  if (action == "*" || action.starts_with("token:")) return action.size() > 6 || action == "*";
  for (std::string_view known : kNamedActions) {
    if (ActionMatches(action, known)) return true;
  }
  return false;
}

Decision Decide(const Policy& policy, const Service& service, std::string_view action) {
  for (const std::string& role_name : service.roles) {
    const Role* role = policy.FindRole(role_name);
    if (role == nullptr) continue;  // ParsePolicy rejects this; be safe anyway
    for (const std::string& pattern : role->actions) {
      if (ActionMatches(pattern, action)) {
        return Decision{.allow = true,
                        .rule = "role:" + role->name,
                        .reason = "role '" + role->name + "' allows " + std::string(action),
                        .role = role};
      }
    }
  }
  return Decision{.allow = false,
                  .rule = "default-deny",
                  .reason = "no role of service '" + service.name + "' allows " +
                            std::string(action),
                  .role = nullptr};
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
