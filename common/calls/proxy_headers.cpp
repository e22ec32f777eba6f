#include "common/calls/proxy_headers.hpp"

#include <algorithm>
#include <array>

#include "common/core/text.hpp"

namespace dbproxy {
namespace {

bool StartsWithIgnoringCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && EqualsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

template <std::size_t N>
bool InList(std::string_view name, const std::array<std::string_view, N>& list) {
  return std::any_of(list.begin(), list.end(),
                     [&](std::string_view entry) { return EqualsIgnoreCase(name, entry); });
}

// RFC 9110 §7.6.1, plus Proxy-Connection, which older clients still send.
constexpr std::array<std::string_view, 7> kHopByHop = {
    "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding",
    "Upgrade"};

constexpr std::array<std::string_view, 12> kRequestDropped = {
    // Credentials: the agent's token alone authenticates the call.
    "Authorization", "Proxy-Authorization", "Cookie", "X-Databricks-Azure-SP-Management-Token",
    "X-Databricks-Azure-Workspace-Resource-Id", "X-Databricks-GCP-SA-Access-Token",
    // Framing and routing, redone by the transport for the body it actually sends.
    "Host", "Content-Length", "Expect",
    // Local identity.
    "Forwarded", "Via", "X-Real-IP"};

// Fields some servers and frameworks honour to act as if another method or path had been sent.
// The policy decided (and the audit records) the real method and path: none of these may make
// the workspace run a different call.
constexpr std::array<std::string_view, 5> kRequestOverrides = {
    "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "X-Original-URL",
    "X-Rewrite-URL"};

constexpr std::array<std::string_view, 3> kResponseDropped = {"Content-Length", "Set-Cookie",
                                                              "Alt-Svc"};

bool IsOptionalWhitespace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && IsOptionalWhitespace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsOptionalWhitespace(text.back())) text.remove_suffix(1);
  return text;
}

// Whether `name` is listed in any Connection field of `fields` (a comma-separated list of
// field names, RFC 9110 §7.6.1): such fields are meant for the next hop only.
bool NamedByConnection(std::string_view name, std::span<const HeaderField> fields) {
  for (const HeaderField& field : fields) {
    if (!EqualsIgnoreCase(field.name, "Connection")) continue;
    std::string_view list = field.value;
    while (!list.empty()) {
      const std::size_t comma = list.find(',');
      if (EqualsIgnoreCase(Trim(list.substr(0, comma)), name)) return true;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return false;
}

}  // namespace

bool IsForwardableRequestHeader(std::string_view name) {
  return !InList(name, kHopByHop) && !InList(name, kRequestDropped) &&
         !InList(name, kRequestOverrides) && !StartsWithIgnoringCase(name, "X-Forwarded-") &&
         !StartsWithIgnoringCase(name, "X-Dbproxy-");
}

bool IsReturnableResponseHeader(std::string_view name) {
  return !InList(name, kHopByHop) && !InList(name, kResponseDropped);
}

std::string UserAgentFor(std::string_view caller_value, std::string_view version) {
  const std::string_view value = Trim(caller_value);
  const std::string product = "dbproxy/" + std::string(version);
  return value.empty() ? product : std::string(value) + " " + product;
}

std::vector<HeaderField> RequestHeadersToForward(std::span<const HeaderField> caller,
                                                 std::string_view version) {
  std::vector<HeaderField> out;
  out.reserve(caller.size() + 1);
  bool user_agent = false;
  for (const HeaderField& field : caller) {
    if (EqualsIgnoreCase(field.name, "User-Agent")) {
      if (user_agent) continue;  // one User-Agent upstream, the caller's first
      user_agent = true;
      out.push_back({field.name, UserAgentFor(field.value, version)});
      continue;
    }
    if (!IsForwardableRequestHeader(field.name) || NamedByConnection(field.name, caller)) continue;
    out.push_back(field);
  }
  if (!user_agent) out.push_back({"User-Agent", UserAgentFor({}, version)});
  return out;
}

std::vector<HeaderField> ResponseHeadersToReturn(std::span<const HeaderField> upstream) {
  std::vector<HeaderField> out;
  out.reserve(upstream.size());
  for (const HeaderField& field : upstream) {
    if (!IsReturnableResponseHeader(field.name) || NamedByConnection(field.name, upstream)) {
      continue;
    }
    out.push_back(field);
  }
  return out;
}

std::string_view DatabricksRequestId(std::span<const HeaderField> response) {
  for (std::string_view name : {"X-Request-Id", "x-databricks-request-id"}) {
    for (const HeaderField& field : response) {
      if (EqualsIgnoreCase(field.name, name)) return field.value;
    }
  }
  return {};
}

}  // namespace dbproxy
