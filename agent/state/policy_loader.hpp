// Reads policy directories and turns them into an immutable Policy.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/core/config.hpp"
#include "common/core/result.hpp"
#include "common/policy/policy.hpp"
#include "common/policy/policy_lint.hpp"

namespace dbproxy {

// Reads and parses `directory`. When `trusted_keys` is non-empty, `directory/policy.sig` must be
// a valid signature over exactly these files by one of the keys (see common/policy_bundle.hpp);
// otherwise nothing is loaded.
Result<std::shared_ptr<const Policy>> LoadPolicyDirectory(
    const std::string& directory, const std::vector<std::string>& trusted_keys = {});

// LintIdentityRequirements against the providers `config` defines.
std::vector<LintFinding> LintAgainstConfig(const Policy& policy, const AgentConfig& config);

}  // namespace dbproxy
