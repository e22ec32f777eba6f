// libFuzzer target for the proxy's header rules (common/calls/proxy_headers). The input is a
// header block, one "Name: value" field a line (a line without ':' is a name with an empty
// value; a line with an empty name is left out, as Beast refuses it). Invariants, for both
// directions:
//   - the output keeps the order of the input and never invents a field (User-Agent aside);
//   - every field kept is one the rules allow, and is not named by a Connection field;
//   - nothing allowed is lost (every allowed, unnamed input field is kept);
//   - upstream gets exactly one User-Agent, ending in "dbproxy/<version>";
//   - filtering a response twice changes nothing more.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/calls/proxy_headers.hpp"

namespace {

using dbproxy::HeaderField;

constexpr std::string_view kVersion = "9.9.9";

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool SameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// An independent reading of "named by a Connection field" (comma-separated, trimmed).
bool Named(std::string_view name, std::span<const HeaderField> fields) {
  for (const HeaderField& field : fields) {
    if (!SameName(field.name, "Connection")) continue;
    std::string_view list = field.value;
    for (;;) {
      const std::size_t comma = list.find(',');
      if (SameName(Trim(list.substr(0, comma)), name)) return true;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return false;
}

std::vector<HeaderField> ParseFields(std::string_view text) {
  std::vector<HeaderField> fields;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    const std::string_view line = text.substr(0, eol);
    const std::size_t colon = line.find(':');
    // An empty name never reaches the rules: Beast refuses such a field.
    if (colon != 0 && !line.empty()) {
      const std::string_view value =
          colon == std::string_view::npos ? std::string_view() : Trim(line.substr(colon + 1));
      fields.push_back({std::string(line.substr(0, colon)), std::string(value)});
    }
    if (eol == std::string_view::npos) break;
    text.remove_prefix(eol + 1);
  }
  return fields;
}

// `out` is `in` filtered by `keep` (same order, same fields), User-Agent rewritten if `request`.
template <class Keep>
void CheckFiltered(std::span<const HeaderField> in, const std::vector<HeaderField>& out, Keep keep,
                   bool request) {
  std::size_t next = 0;
  bool user_agent_seen = false;
  for (const HeaderField& field : in) {
    const bool is_user_agent = request && SameName(field.name, "User-Agent");
    if (is_user_agent && user_agent_seen) continue;
    const bool kept = is_user_agent || (keep(field.name) && !Named(field.name, in));
    if (!kept) continue;
    if (next >= out.size() || out[next].name != field.name) std::abort();
    if (is_user_agent) {
      user_agent_seen = true;
      if (out[next].value != dbproxy::UserAgentFor(field.value, kVersion)) std::abort();
    } else if (out[next].value != field.value) {
      std::abort();
    }
    ++next;
  }
  if (request && !user_agent_seen) {
    if (next >= out.size() || out[next].name != "User-Agent") std::abort();
    ++next;
  }
  if (next != out.size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<HeaderField> fields =
      ParseFields({reinterpret_cast<const char*>(data), size});

  const std::vector<HeaderField> upstream = dbproxy::RequestHeadersToForward(fields, kVersion);
  CheckFiltered(fields, upstream, dbproxy::IsForwardableRequestHeader, true);
  int user_agents = 0;
  for (const HeaderField& field : upstream) {
    if (SameName(field.name, "Authorization") || SameName(field.name, "Cookie")) std::abort();
    if (!SameName(field.name, "User-Agent")) continue;
    ++user_agents;
    if (!field.value.ends_with("dbproxy/" + std::string(kVersion))) std::abort();
  }
  if (user_agents != 1) std::abort();

  const std::vector<HeaderField> returned = dbproxy::ResponseHeadersToReturn(fields);
  CheckFiltered(fields, returned, dbproxy::IsReturnableResponseHeader, false);
  for (const HeaderField& field : returned) {
    if (SameName(field.name, "Set-Cookie") || SameName(field.name, "Connection")) std::abort();
  }
  const std::vector<HeaderField> twice = dbproxy::ResponseHeadersToReturn(returned);
  if (twice.size() != returned.size()) std::abort();

  const std::string_view id = dbproxy::DatabricksRequestId(fields);
  if (!id.empty()) {
    bool found = false;
    for (const HeaderField& field : fields) {
      found |= field.value == id && (SameName(field.name, "X-Request-Id") ||
                                     SameName(field.name, "x-databricks-request-id"));
    }
    if (!found) std::abort();
  }
  return 0;
}
