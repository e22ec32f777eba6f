#include "cli/policy_files.hpp"

#include <filesystem>

#include "common/os/files.hpp"

namespace dbproxy::cli {

Result<std::vector<PolicySource>> ReadPolicyFiles(const std::string& directory) {
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec)) {
    return MakeError(Errc::kNotFound, directory + " is not a directory");
  }
  return ReadPolicySources(directory);
}

}  // namespace dbproxy::cli
