// Policy: which local services exist, how the kernel identity of a caller maps to one, and what
// their roles allow. Parsed from the TOML files of policy_dir; evaluation is pure and cheap.
//
// Threading: a Policy is immutable once parsed; share it as std::shared_ptr<const Policy> and
// swap the pointer to reload.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/caller_identity.hpp"
#include "common/result.hpp"

namespace dbproxy {

// A matcher on kernel identity. All given fields must match.
struct ServiceMatch {
  std::optional<std::string> unit;   // systemd unit, e.g. "billing-etl.service"
  std::optional<uid_t> uid;
  std::optional<std::string> user;   // name of the caller's uid
  std::optional<gid_t> gid;          // primary or supplementary group
  std::optional<std::string> group;  // name of the primary group, or a supplementary group's
  std::optional<std::string> exe;    // exact path of /proc/<pid>/exe (needs CAP_SYS_PTRACE for
                                     // other users' processes)

  // How many fields are given; the most specific matching service wins.
  int Specificity() const;
  // REQUIRES: `group_names` holds the names of identity.groups (same order), may be empty.
  bool Matches(const CallerIdentity& identity, const std::vector<std::string>& group_names) const;
  // "unit=billing-etl.service uid=1000": for traces and errors.
  std::string Describe() const;
  bool operator==(const ServiceMatch&) const = default;
};

struct Service {
  std::string name;
  ServiceMatch match;
  std::map<std::string, std::string> attributes;  // env, team, free labels
  std::string workspace;                          // default workspace; may be empty
  std::vector<std::string> roles;
  std::string source;  // "file:line" where it was declared
};

struct Role {
  std::string name;
  std::string credential;            // name of the enrolled service principal
  std::vector<std::string> actions;  // patterns; '*' matches any run of characters
  std::string source;
};

struct Policy {
  std::vector<Service> services;
  std::vector<Role> roles;

  const Service* FindService(std::string_view name) const;
  const Role* FindRole(std::string_view name) const;
};

struct PolicySource {
  std::string name;  // file name used in error messages
  std::string text;
};

// Parses and validates a whole policy directory's files together. All errors are reported at
// once ("file:line: message" per line) in an Errc::kInvalidRequest error: syntax, unknown keys,
// unknown actions, duplicate names, undefined roles, identical matchers, empty matchers.
Result<Policy> ParsePolicy(const std::vector<PolicySource>& files);

// The service whose matcher fits `identity`, most specific first. Errc::kUnidentified when none
// matches, or when two equally specific services match (ambiguity is never resolved by order).
Result<const Service*> MatchService(const Policy& policy, const CallerIdentity& identity,
                                    const std::vector<std::string>& group_names);

// Glob match of an action pattern: '*' matches any run of characters, everything else literally.
bool ActionMatches(std::string_view pattern, std::string_view action);

// True when `action` is a known action or a pattern ("token:<scope>", "jobs.read", "jobs.*").
bool IsKnownActionPattern(std::string_view action);

struct Decision {
  bool allow = false;
  std::string rule;    // "role:<name>" for an allowing role, "default-deny" otherwise
  std::string reason;  // one sentence for the caller and the audit trail
  const Role* role = nullptr;  // the role that allows; null on deny
};

// Decides whether `service` may perform `action` (e.g. "token:all-apis"). Roles are tried in
// the service's order; the first role with a matching action allows. Nothing matching denies.
Decision Decide(const Policy& policy, const Service& service, std::string_view action);

// The scope a token request without "scope" gets: the first literal "token:<scope>" action of
// the service's roles, in order. Errc::kPolicyDenied when the service has none.
Result<std::string> DefaultTokenScope(const Policy& policy, const Service& service);

}  // namespace dbproxy
