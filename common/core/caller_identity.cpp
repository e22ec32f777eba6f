#include "common/core/caller_identity.hpp"

#include <algorithm>
#include <charconv>

namespace dbproxy {
namespace {

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(separator, start);
    if (end == std::string_view::npos) end = text.size();
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

bool ParseUnsigned(std::string_view text, std::uint32_t& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Numbers separated by tabs and/or spaces, as in the Uid:, Gid: and Groups: lines.
bool ParseNumbers(std::string_view text, std::vector<std::uint32_t>& values) {
  for (std::string_view field : Split(text, '\t')) {
    for (std::string_view word : Split(field, ' ')) {
      if (word.empty()) continue;
      std::uint32_t value = 0;
      if (!ParseUnsigned(word, value)) return false;
      values.push_back(value);
    }
  }
  return true;
}

// "\tZ (zombie)" -> 'Z': blanks, one ASCII letter, then the end or a space.
bool ParseStateLetter(std::string_view text, char& state) {
  const std::size_t at = text.find_first_not_of(" \t");
  if (at == std::string_view::npos) return false;
  const char letter = text[at];
  const bool is_letter = (letter >= 'A' && letter <= 'Z') || (letter >= 'a' && letter <= 'z');
  if (!is_letter || (at + 1 < text.size() && text[at + 1] != ' ')) return false;
  state = letter;
  return true;
}

}  // namespace

bool CallerIdentity::InGroup(gid_t id) const {
  return gid == id || std::find(groups.begin(), groups.end(), id) != groups.end();
}

std::string CgroupPathFromCgroupFile(std::string_view proc_cgroup_text) {
  std::string_view unified, named;
  for (std::string_view line : Split(proc_cgroup_text, '\n')) {
    // Format: hierarchy-ID:controller-list:cgroup-path
    const std::size_t first = line.find(':');
    if (first == std::string_view::npos) continue;
    const std::size_t second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string_view id = line.substr(0, first);
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    const std::string_view path = line.substr(second + 1);
    if (id == "0" && controllers.empty()) unified = path;
    if (controllers == "name=systemd") named = path;
  }
  if (!unified.empty() && unified != "/") return std::string(unified);
  if (!named.empty()) return std::string(named);
  return unified.empty() ? "/" : std::string(unified);
}

std::string UnitFromCgroupFile(std::string_view proc_cgroup_text) {
  const std::string path = CgroupPathFromCgroupFile(proc_cgroup_text);
  for (std::string_view component : Split(path, '/')) {
    if (component.empty()) continue;
    if (component.ends_with(".slice")) continue;
    if (component.ends_with(".service") || component.ends_with(".scope")) {
      return std::string(component);
    }
    return {};  // a non-unit directory before any unit: not managed by systemd
  }
  return {};
}

std::optional<ProcStatus> ParseProcStatus(std::string_view proc_status_text) {
  ProcStatus status;
  bool have_state = false, have_uid = false, have_gid = false, have_groups = false;
  for (std::string_view line : Split(proc_status_text, '\n')) {
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    const std::string_view rest = line.substr(colon + 1);
    if (key == "State") {
      if (!ParseStateLetter(rest, status.state)) return std::nullopt;
      have_state = true;
      continue;
    }
    if (key != "Uid" && key != "Gid" && key != "Groups") continue;
    std::vector<std::uint32_t> values;
    if (!ParseNumbers(rest, values)) return std::nullopt;
    if (key == "Groups") {
      status.groups.assign(values.begin(), values.end());
      have_groups = true;
    } else if (values.size() != 4) {
      return std::nullopt;
    } else if (key == "Uid") {
      status.real_uid = values[0];
      status.effective_uid = values[1];
      have_uid = true;
    } else {
      status.real_gid = values[0];
      status.effective_gid = values[1];
      have_gid = true;
    }
  }
  if (!have_state || !have_uid || !have_gid || !have_groups) return std::nullopt;
  return status;
}

}  // namespace dbproxy
