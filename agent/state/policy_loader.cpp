#include "agent/state/policy_loader.hpp"

#include <algorithm>
#include <filesystem>

#include "agent/files.hpp"
#include "common/policy/policy_bundle.hpp"

namespace dbproxy {

Result<std::vector<PolicySource>> ReadPolicySources(const std::string& directory) {
  std::vector<PolicySource> sources;
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec)) return sources;
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (!IsPolicyFileName(name)) continue;
    if (!entry.is_regular_file(ec)) continue;
    paths.push_back(entry.path());
  }
  if (ec) return MakeError(Errc::kInternal, "cannot list " + directory + ": " + ec.message());
  std::sort(paths.begin(), paths.end());
  for (const auto& path : paths) {
    Result<std::string> text = ReadFileText(path.string(), 4 << 20);
    if (!text) return std::move(text).error();
    sources.push_back(PolicySource{.name = path.string(), .text = std::move(*text)});
  }
  return sources;
}

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

}  // namespace dbproxy
