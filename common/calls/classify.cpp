#include "common/calls/classify.hpp"

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/calls/call_routes.hpp"
#include "common/core/text.hpp"

namespace dbproxy {
namespace {

// Far above any Databricks REST path; bounds the work done on hostile input.
constexpr std::size_t kMaxPathBytes = 4096;

constexpr std::array<std::string_view, 4> kApiVersions = {"1.2", "2.0", "2.1", "2.2"};

bool IsUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

Error Invalid(std::string_view why) {
  return MakeError(Errc::kInvalidRequest, "request path rejected: " + std::string(why));
}

// Besides unreserved characters, a segment may hold raw the rest of RFC 3986's pchar (minus
// ';', which some servers strip as a path parameter) and non-ASCII bytes (UTF-8 names).
bool IsRawPathChar(char c) {
  static constexpr std::string_view kSubDelims = "!$&'()*+,=:@";
  return IsUnreserved(c) || kSubDelims.find(c) != std::string_view::npos ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool IsControlByte(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// One raw segment (no '/') to its decoded form, or the reason it must not be forwarded.
// Decoding must never create a separator ('/', '\\'), a dot-segment spelt differently from
// what the workspace sees, a second round of escapes ('%'), a control byte or anything a
// server might strip (';'). Everything else (spaces, non-ASCII, '+', '@'...) is a valid name
// character; JoinPath re-encodes it.
Result<std::string> DecodeSegment(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      const int high = i + 1 < raw.size() ? HexDigitValue(raw[i + 1]) : -1;
      const int low = i + 2 < raw.size() ? HexDigitValue(raw[i + 2]) : -1;
      if (high < 0 || low < 0) return Invalid("malformed percent-escape");
      c = static_cast<char>(high * 16 + low);
      if (c == '/' || c == '\\') return Invalid("encoded slash or backslash");
      if (c == ';' || c == '%' || IsControlByte(c)) {
        return Invalid("percent-escape of a reserved or control character");
      }
      i += 2;
    } else if (c == '\\') {
      return Invalid("backslash");
    } else if (!IsRawPathChar(c)) {
      return Invalid("character outside the path characters");
    }
    out.push_back(c);
  }
  if (out.find_first_not_of('.') == std::string::npos) return Invalid("dot segment");
  return out;
}

bool IsPlainSegment(std::string_view segment) {
  for (char c : segment) {
    if (!IsUnreserved(c)) return false;
  }
  return true;
}

// `segment` without the characters outside [A-Za-z0-9-._~]: the name a server that trims or
// drops unusual characters would see.
std::string LooseSegment(std::string_view segment) {
  std::string out;
  for (char c : segment) {
    if (IsUnreserved(c)) out.push_back(c);
  }
  return out;
}

// The decoded, non-empty segments of `path`.
Result<std::vector<std::string>> NormalizeSegments(std::string_view path) {
  if (path.size() > kMaxPathBytes) return Invalid("too long");
  if (path.empty() || path.front() != '/') return Invalid("must start with '/'");
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start < path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) {
      Result<std::string> segment = DecodeSegment(path.substr(start, end - start));
      if (!segment) return std::move(segment).error();
      segments.push_back(std::move(*segment));
    }
    start = end + 1;
  }
  const bool api = segments.size() >= 2 && segments[0] == "api";
  const bool serving = !segments.empty() && segments[0] == "serving-endpoints";
  if (!api && !serving) return Invalid("not a Databricks API path");
  return segments;
}

bool ContainsWord(std::string_view list, std::string_view word) {
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(' ', start);
    if (end == std::string_view::npos) end = list.size();
    if (list.substr(start, end - start) == word) return true;
    start = end + 1;
  }
  return false;
}


// How literal segments compare: exactly, or ignoring ASCII letter case (to find paths that a
// case-insensitive server could read as a known call).
enum class Case { kExact, kFold };

bool SameText(std::string_view a, std::string_view b, Case mode) {
  if (mode == Case::kExact) return a == b;
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

bool SegmentMatches(std::string_view pattern, std::string_view segment, Case mode) {
  if (pattern == "{id}") return true;
  if (pattern.ends_with('*')) {
    const std::string_view prefix = pattern.substr(0, pattern.size() - 1);
    return segment.size() >= prefix.size() &&
           SameText(prefix, segment.substr(0, prefix.size()), mode);
  }
  return SameText(pattern, segment, mode);
}

// REQUIRES: `segments` are the path segments after the part the route's versions consume.
bool PatternMatches(std::string_view pattern, std::span<const std::string> segments, Case mode) {
  std::size_t index = 0;
  std::size_t start = 0;
  while (start <= pattern.size()) {
    std::size_t end = pattern.find('/', start);
    if (end == std::string_view::npos) end = pattern.size();
    const std::string_view part = pattern.substr(start, end - start);
    if (part == "**") return true;
    if (index == segments.size() || !SegmentMatches(part, segments[index], mode)) return false;
    ++index;
    start = end + 1;
  }
  return index == segments.size();
}

bool PathMatches(const CallRoute& route, std::span<const std::string> segments,
                 Case mode = Case::kExact) {
  if (route.versions.empty()) return PatternMatches(route.pattern, segments, mode);
  if (segments.size() < 2 || segments[0] != "api" || !ContainsWord(route.versions, segments[1])) {
    return false;
  }
  return PatternMatches(route.pattern, segments.subspan(2), mode);
}

struct Match {
  std::string_view action = "api.unknown";
  std::string_view resource = {};
};

// The first row for `segments` and `method`; for a known path with an unlisted method, the
// API's worst action: Databricks may still accept the method (several 2.0 APIs take GET and
// POST alike), so assume the worst rather than the cheapest.
Match MatchRoute(std::span<const std::string> segments, std::string_view method, Case mode) {
  const CallRoute* same_path = nullptr;  // first row for this path, whatever its method
  for (const CallRoute& route : CallRoutes()) {
    if (!PathMatches(route, segments, mode)) continue;
    if (same_path == nullptr) same_path = &route;
    if (route.method == "*" || route.method == method) return Match{route.action, route.resource};
  }
  if (same_path != nullptr) return Match{FallbackAction(same_path->resource), same_path->resource};
  return Match{};
}

// The one spelling of decoded segments: unreserved characters raw, every other byte as an
// upper-case percent-escape.
std::string JoinPath(const std::vector<std::string>& segments) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string path;
  for (const std::string& segment : segments) {
    path.push_back('/');
    for (char c : segment) {
      if (IsUnreserved(c)) {
        path.push_back(c);
        continue;
      }
      const auto byte = static_cast<unsigned char>(c);
      path.push_back('%');
      path.push_back(kHex[byte >> 4]);
      path.push_back(kHex[byte & 0x0f]);
    }
  }
  return path;
}

}  // namespace

Result<Classification> ClassifyCall(std::string_view method, std::string_view path) {
  Result<std::vector<std::string>> segments = NormalizeSegments(path);
  if (!segments) return std::move(segments).error();

  Classification out;
  out.normalized_path = JoinPath(*segments);
  // Escaping can make the forwarded spelling up to three times as long as what was sent; it
  // must be a path this function accepts too (found by classify_fuzz in a 10-minute run).
  if (out.normalized_path.size() > kMaxPathBytes) return Invalid("too long once normalised");
  if (segments->size() >= 2 && (*segments)[0] == "api") {
    for (std::string_view version : kApiVersions) {
      if ((*segments)[1] == version) out.api_version = std::string(version);
    }
  }

  const std::string_view effective_method = method == "HEAD" ? std::string_view("GET") : method;
  const Match exact = MatchRoute(*segments, effective_method, Case::kExact);
  // Unusual characters are names inside a known API (a UC table, a volume file), never parts
  // of an unknown call.
  std::vector<std::string> loose;
  bool plain = true;
  for (const std::string& segment : *segments) {
    plain = plain && IsPlainSegment(segment);
    loose.push_back(LooseSegment(segment));
  }
  if (!plain && exact.resource.empty()) {
    return Invalid("unusual characters outside a known Databricks API");
  }
  // "/api/2.1/Jobs/Run-Now", ".../unity-catalog/Temporary-table-credentials" or
  // ".../unity-catalog/permissions%20/..." match another row (or none) than their lower-case,
  // trimmed spelling; a server that ignores case or drops odd characters would run the other
  // call, which may be the more privileged one.
  if (MatchRoute(loose, effective_method, Case::kFold).action != exact.action) {
    return Invalid("path differs from a known Databricks call only in letter case or symbols");
  }
  out.action = std::string(exact.action);
  out.resource = std::string(exact.resource);
  return out;
}

}  // namespace dbproxy
