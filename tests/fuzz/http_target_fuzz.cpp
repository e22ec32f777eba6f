// libFuzzer target for the request target parser (common/calls/http_target): SplitRequestTarget,
// DecodePathSegments and ParseQuery on any bytes. Invariants:
//   - the split is lossless: path, then '?' and query when there was a '?', is the target;
//   - decoded segments, percent-encoded again and joined, decode to the same segments;
//   - a parsed query, re-serialised (UrlEncode of each key and value), parses to the same map.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/calls/http_target.hpp"
#include "common/oauth/oauth.hpp"

namespace {

void CheckSplit(std::string_view target) {
  const dbproxy::SplitTarget split = dbproxy::SplitRequestTarget(target);
  if (split.path.find('?') != std::string_view::npos) std::abort();
  if (split.path.data() != target.data()) std::abort();
  const bool had_question = split.path.size() < target.size();
  const std::size_t rebuilt = split.path.size() + (had_question ? 1 + split.query.size() : 0);
  if (rebuilt != target.size()) std::abort();
  if (had_question && target.substr(split.path.size() + 1) != split.query) std::abort();
}

void CheckSegments(std::string_view path) {
  const auto segments = dbproxy::DecodePathSegments(path);
  if (!segments) return;
  if (segments->empty() != (path == "/")) std::abort();
  std::string encoded;
  for (const std::string& segment : *segments) encoded += "/" + dbproxy::UrlEncode(segment);
  if (encoded.empty()) encoded = "/";
  const auto again = dbproxy::DecodePathSegments(encoded);
  if (!again || *again != *segments) std::abort();
}

void CheckQuery(std::string_view query) {
  const auto parsed = dbproxy::ParseQuery(query);
  if (!parsed) return;
  std::string serialised;
  for (const auto& [key, value] : *parsed) {
    if (!serialised.empty()) serialised += '&';
    serialised += dbproxy::UrlEncode(key) + "=" + dbproxy::UrlEncode(value);
  }
  const auto again = dbproxy::ParseQuery(serialised);
  if (!again || *again != *parsed) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  CheckSplit(target);
  const dbproxy::SplitTarget split = dbproxy::SplitRequestTarget(target);
  CheckSegments(split.path);
  CheckQuery(split.query);
  return 0;
}
