// Reads every policy file of policy_dir and parses them together.
#pragma once

#include <memory>
#include <string>

#include "common/policy.hpp"
#include "common/result.hpp"

namespace dbproxy {

// Reads `*.toml` in `directory` (not recursive) in name order; hidden files, editor backups and
// anything not ending in ".toml" are ignored, so config management can stage files safely.
// A missing directory is an empty policy (every caller is unidentified).
Result<std::shared_ptr<const Policy>> LoadPolicyDirectory(const std::string& directory);

}  // namespace dbproxy
