#include "common/calls/http_target.hpp"

#include "common/oauth/oauth.hpp"

namespace dbproxy {

SplitTarget SplitRequestTarget(std::string_view target) {
  const std::size_t question = target.find('?');
  if (question == std::string_view::npos) return {target, {}};
  return {target.substr(0, question), target.substr(question + 1)};
}

Result<std::vector<std::string>> DecodePathSegments(std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return MakeError(Errc::kInvalidRequest, "request path must start with '/'");
  }
  std::vector<std::string> segments;
  if (path == "/") return segments;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    Result<std::string> segment = UrlDecode(path.substr(start, end - start));
    if (!segment) return std::move(segment).error();
    if (segment->empty() || *segment == "." || *segment == ".." ||
        segment->find('/') != std::string::npos) {
      return MakeError(Errc::kInvalidRequest, "malformed request path");
    }
    segments.push_back(std::move(*segment));
    start = end + 1;
  }
  return segments;
}

Result<std::map<std::string, std::string>> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start < query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    const std::size_t equals = pair.find('=');
    Result<std::string> key = UrlDecode(pair.substr(0, equals));
    Result<std::string> value =
        UrlDecode(equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1));
    if (!key) return std::move(key).error();
    if (!value) return std::move(value).error();
    if (!out.emplace(std::move(*key), std::move(*value)).second) {
      return MakeError(Errc::kInvalidRequest, "query parameter given twice");
    }
  }
  return out;
}

}  // namespace dbproxy
