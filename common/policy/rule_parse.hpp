// Parsing of [[rule]] tables (policy files). Internal to common/: used by policy_parse.cpp.
#pragma once

#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "common/core/toml_reader.hpp"
#include "common/policy/policy.hpp"

namespace dbproxy {

// Reads one [[rule]] table into `policy.rules`; problems are appended to `errors` as
// "file:line: message".
//
//   [[rule]]
//   id = "jobs-run-production-only"          # required, [A-Za-z0-9._-]{1,64}
//   effect = "deny"                          # "allow" or "deny"
//   actions = ["jobs.run"]                   # known actions or patterns
//   when = { "service.env" = "staging" }     # optional; all must hold
//   unless = { "service.env" = "production" } # optional; if all hold, the rule does not apply
//   description = "..."                      # optional
//
// Condition tables may use quoted dotted keys ("service.env") or nested tables
// (service = { env = "x" }). A value is a string or integer (equality), an array (membership),
// or a table of operators: eq ne lt le gt ge in not_in between present glob.
void ReadRule(const toml::table& table, std::string_view source, Policy& policy,
              std::vector<std::string>& errors);

// The required name at `key` of a service, role or rule table (IsValidName: letters, digits,
// '.', '_', '-', 1..64), or "" when absent; a given but invalid one ("" included) is reported
// as "invalid <what>" at its line. The reader's context then names the table ("<kind> '<name>'").
std::string ReadName(TableReader& reader, std::string_view key, std::string_view kind,
                     std::string_view what);

}  // namespace dbproxy
