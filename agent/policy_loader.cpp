#include "agent/policy_loader.hpp"

#include <algorithm>
#include <filesystem>

#include "agent/files.hpp"

namespace dbproxy {

Result<std::shared_ptr<const Policy>> LoadPolicyDirectory(const std::string& directory) {
  std::vector<PolicySource> sources;
  std::error_code ec;
  if (std::filesystem::is_directory(directory, ec)) {
    std::vector<std::filesystem::path> paths;
    for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.starts_with(".") || !name.ends_with(".toml")) continue;
      if (!entry.is_regular_file(ec)) continue;
      paths.push_back(entry.path());
    }
    if (ec) {
      return MakeError(Errc::kInternal, "cannot list " + directory + ": " + ec.message());
    }
    std::sort(paths.begin(), paths.end());
    for (const auto& path : paths) {
      Result<std::string> text = ReadFileText(path.string(), 4 << 20);
      if (!text) return std::move(text).error();
      sources.push_back(PolicySource{.name = path.string(), .text = std::move(*text)});
    }
  }
  Result<Policy> policy = ParsePolicy(sources);
  if (!policy) return std::move(policy).error();
  return std::make_shared<const Policy>(std::move(*policy));
}

}  // namespace dbproxy
