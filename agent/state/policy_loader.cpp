#include "agent/state/policy_loader.hpp"

#include <filesystem>

#include "common/os/files.hpp"
#include "common/policy/policy_bundle.hpp"

namespace dbproxy {

Result<std::shared_ptr<const Policy>> LoadPolicyDirectory(
    const std::string& directory, const std::vector<std::string>& trusted_keys) {
  Result<std::vector<PolicySource>> sources = ReadPolicySources(directory);
  if (!sources) return std::move(sources).error();
  if (!trusted_keys.empty()) {
    const std::string signature_path = directory + "/policy.sig";
    Result<std::string> signature = ReadFileText(signature_path, 64 << 10);
    if (!signature) {
      return MakeError(Errc::kInvalidRequest,
                       signature_path + ": trusted_keys are set, so the policy must be signed (" +
                           signature.error().message + ")");
    }
    std::vector<PolicySource> bundle;
    for (const PolicySource& source : *sources) {
      bundle.push_back(PolicySource{
          .name = std::filesystem::path(source.name).filename().string(), .text = source.text});
    }
    if (Status verified = VerifyBundle(bundle, *signature, trusted_keys); !verified) {
      Error error = std::move(verified).error();
      error.message = signature_path + ": " + error.message;
      return error;
    }
  }
  Result<Policy> policy = ParsePolicy(*sources);
  if (!policy) return std::move(policy).error();
  return std::make_shared<const Policy>(std::move(*policy));
}

std::vector<LintFinding> LintAgainstConfig(const Policy& policy, const AgentConfig& config) {
  IdentityProviderNames providers;
  for (const IdpSection& idp : config.idps) providers.idps.push_back(idp.name);
  for (const SamlIdpSection& idp : config.saml_idps) providers.saml_idps.push_back(idp.name);
  return LintIdentityRequirements(policy, providers);
}

}  // namespace dbproxy
