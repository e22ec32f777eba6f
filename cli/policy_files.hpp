// The policy directory as the local `dbproxyctl policy` commands (lint, keygen, sign, verify)
// read it. They never talk to the agent; file operations come from common/os/files.hpp, so the
// CLI selects and reads files exactly as the agent does.
#pragma once

#include <string>
#include <vector>

#include "common/core/result.hpp"
#include "common/policy/policy.hpp"

namespace dbproxy::cli {

// The policy files of `directory` (common/os ReadPolicySources). kNotFound when `directory` is
// not a directory (the agent would load an empty policy from it; for a command that was given
// the directory, that is a typo); kInternal on read errors.
Result<std::vector<PolicySource>> ReadPolicyFiles(const std::string& directory);

}  // namespace dbproxy::cli
