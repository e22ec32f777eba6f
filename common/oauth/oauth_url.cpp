// The URL, scope and form-encoding parts of oauth.hpp.
#include <algorithm>
#include <cstddef>
#include <vector>

#include "common/core/text.hpp"
#include "common/oauth/oauth.hpp"

namespace dbproxy {
namespace {

constexpr std::size_t kMaxUrlBytes = 2048;
constexpr std::size_t kMaxHostNameBytes = 253;
constexpr std::size_t kMaxLabelBytes = 63;
constexpr std::size_t kMaxScopeBytes = 4096;


bool IsAsciiAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// DNS-style host name (also covers dotted IPv4): non-empty labels of letters, digits and '-',
// not starting or ending with '-'. A trailing dot is refused: it would make a second spelling of
// the same origin.
bool IsValidHostName(std::string_view host) {
  if (host.empty() || host.size() > kMaxHostNameBytes) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = host.find('.', start);
    const std::string_view label = host.substr(start, dot - start);
    if (label.empty() || label.size() > kMaxLabelBytes) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (const char c : label) {
      if (!IsAsciiAlnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// "[" hex, ':' and '.' "]", with at least two colons. Zone identifiers are refused.
bool IsValidIpv6Literal(std::string_view host) {
  if (host.size() < 4 || host.size() > 47 || host.front() != '[' || host.back() != ']') {
    return false;
  }
  const std::string_view inner = host.substr(1, host.size() - 2);
  if (std::count(inner.begin(), inner.end(), ':') < 2) return false;
  return std::all_of(inner.begin(), inner.end(),
                     [](char c) { return IsHexDigit(c) || c == ':' || c == '.'; });
}

// Parses 1-5 digits into 1..65535.
bool ParsePort(std::string_view text, int& port) {
  if (text.empty() || text.size() > 5) return false;
  port = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + (c - '0');
  }
  return port >= 1 && port <= 65535;
}

// Splits "host[:port]" where host may be a bracketed IPv6 literal.
Status SplitAuthority(std::string_view authority, std::string_view& host, std::string_view& port,
                      bool& has_port) {
  std::size_t host_end = 0;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidRequest("workspace URL has a malformed IPv6 host");
    host_end = close + 1;
  } else {
    host_end = std::min(authority.find(':'), authority.size());
  }
  host = authority.substr(0, host_end);
  const std::string_view rest = authority.substr(host_end);
  has_port = !rest.empty();
  if (has_port && rest.front() != ':') return InvalidRequest("workspace URL has a malformed host");
  port = has_port ? rest.substr(1) : std::string_view();
  return Status::Ok();
}

Status CheckNoPathQueryFragment(std::string_view tail) {
  if (tail.empty() || tail == "/") return Status::Ok();
  if (tail.find('?') != std::string_view::npos) {
    return InvalidRequest("workspace URL must not have a query string");
  }
  if (tail.find('#') != std::string_view::npos) {
    return InvalidRequest("workspace URL must not have a fragment");
  }
  return InvalidRequest("workspace URL must not have a path (use https://host[:port])");
}

}  // namespace

Result<std::string> NormalizeWorkspaceHost(std::string_view url, bool allow_insecure) {
  if (url.size() > kMaxUrlBytes) return InvalidRequest("workspace URL is too long");
  const std::size_t sep = url.find("://");
  const std::string scheme =
      sep == std::string_view::npos ? std::string() : Lowercase(url.substr(0, sep));
  if (scheme == "http" && !allow_insecure) return InvalidRequest("workspace URL must use https, not http");
  if (scheme != "https" && scheme != "http")
    return InvalidRequest("workspace URL must start with https://");

  const std::string_view rest = url.substr(sep + 3);
  const std::size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  const std::string_view authority = rest.substr(0, authority_end);
  if (Status tail = CheckNoPathQueryFragment(rest.substr(authority_end)); !tail) {
    return std::move(tail).error();
  }
  if (authority.find('@') != std::string_view::npos) {
    return InvalidRequest("workspace URL must not contain user information ('@')");
  }
  if (authority.empty()) return InvalidRequest("workspace URL has no host");

  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  if (Status split = SplitAuthority(authority, host, port_text, has_port); !split) {
    return std::move(split).error();
  }
  if (!IsValidHostName(host) && !IsValidIpv6Literal(host)) {
    return InvalidRequest("workspace URL has an invalid host name");
  }
  int port = 0;
  if (has_port && !ParsePort(port_text, port)) {
    return InvalidRequest("workspace URL has an invalid port (expected 1-65535)");
  }
  std::string origin = scheme + "://" + Lowercase(host);
  const int default_port = scheme == "https" ? 443 : 80;
  if (has_port && port != default_port) origin += ":" + std::to_string(port);
  return origin;
}

std::string ClientCredentialsBody(std::string_view scope) {
  std::string body = "grant_type=client_credentials";
  if (!scope.empty()) body += "&scope=" + UrlEncode(scope);
  return body;
}

SecretBytes TokenExchangeBody(const SecretBytes& subject_token, std::string_view client_id,
                              std::string_view scope) {
  const std::string head =
      "grant_type=" + UrlEncode("urn:ietf:params:oauth:grant-type:token-exchange") +
      "&subject_token=";
  std::string tail = "&subject_token_type=" + UrlEncode("urn:ietf:params:oauth:token-type:jwt");
  if (!client_id.empty()) tail += "&client_id=" + UrlEncode(client_id);
  if (!scope.empty()) tail += "&scope=" + UrlEncode(scope);
  // A compact JWS is base64url and dots, which form encoding leaves as they are; any other byte
  // is percent-encoded (three bytes each), so this size is an upper bound.
  SecretBytes body(head.size() + subject_token.size() * 3 + tail.size());
  std::size_t used = 0;
  auto put = [&](char c) { body.bytes()[used++] = static_cast<unsigned char>(c); };
  for (const char c : head)
    put(c);
  constexpr char kHex[] = "0123456789ABCDEF";
  for (const unsigned char c : subject_token.bytes()) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_' || c == '.' || c == '~';
    if (plain) {
      put(static_cast<char>(c));
    } else {
      put('%');
      put(kHex[c >> 4]);
      put(kHex[c & 0xF]);
    }
  }
  for (const char c : tail)
    put(c);
  SecretBytes exact = SecretBytes::CopyFrom(body.bytes().first(used));
  return exact;
}

Result<std::string> CanonicalScope(std::string_view scope) {
  if (scope.size() > kMaxScopeBytes) return InvalidRequest("scope is too long");
  std::vector<std::string_view> entries;
  std::size_t start = 0;
  while (start <= scope.size()) {
    const std::size_t end = std::min(scope.find(' ', start), scope.size());
    const std::string_view entry = scope.substr(start, end - start);
    const bool valid = std::all_of(entry.begin(), entry.end(), [](char c) {
      return IsAsciiAlnum(c) || c == ':' || c == '_' || c == '.' || c == '-';
    });
    // The bad entry is not echoed: it may hold arbitrary bytes.
    if (!valid) return InvalidRequest("scope entries may only contain letters, digits and : _ . -");
    if (!entry.empty()) entries.push_back(entry);
    start = end + 1;
  }
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  std::string canonical;
  for (const std::string_view entry : entries) {
    if (!canonical.empty()) canonical += ' ';
    canonical += entry;
  }
  return canonical;
}

std::string UrlEncode(std::string_view text) {
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (IsAsciiAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

Result<std::string> UrlDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\0') return InvalidRequest("NUL is not allowed");  // like %00 below
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || !IsHexDigit(text[i + 1]) || !IsHexDigit(text[i + 2])) {
      return InvalidRequest("malformed percent-encoding");
    }
    const int byte = HexDigitValue(text[i + 1]) * 16 + HexDigitValue(text[i + 2]);
    if (byte == 0) return InvalidRequest("percent-encoded NUL (%00) is not allowed");
    out += static_cast<char>(byte);
    i += 2;
  }
  return out;
}

}  // namespace dbproxy
