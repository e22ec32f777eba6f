// libFuzzer target for the proxy's parsers of caller input: ParseProxyRoute, InspectBody,
// InspectQuery and ApplyClamps. No crash on any input, and:
//   - a parsed route's upstream target starts with its normalised path and keeps the query;
//   - a body that inspects cleanly and is clamped reads back within the role's limits, with the
//     same warehouse and statement.
// The first input byte picks the mode, the rest is the input.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/calls/proxy_route.hpp"
#include "common/calls/request_body.hpp"

namespace {

using dbproxy::BodyFacts;
using dbproxy::Classification;

void FuzzRoute(std::string_view target) {
  const dbproxy::Result<dbproxy::ProxyRoute> route =
      dbproxy::ParseProxyRoute("POST", target, "", "default");
  if (!route) return;
  const std::string upstream = route->UpstreamTarget();
  if (!upstream.starts_with(route->classification.normalized_path)) std::abort();
  if (!route->query.empty() && !upstream.ends_with("?" + route->query)) std::abort();
  if (!dbproxy::IsProxyTarget(target)) std::abort();
}

void FuzzBody(const Classification& call, std::string_view body) {
  dbproxy::Result<BodyFacts> facts = dbproxy::InspectBody(call, body);
  if (!facts) return;
  (void)dbproxy::InspectQuery(call, body, *facts);
  dbproxy::RoleLimits limits;
  limits.sql_row_limit_max = 100;
  limits.sql_row_limit_clamp = true;
  limits.sql_byte_limit_max = 4096;
  limits.sql_byte_limit_clamp = true;
  const dbproxy::Result<std::string> clamped = dbproxy::ApplyClamps(body, limits, *facts);
  if (!clamped || !facts->sql_statement) return;
  const dbproxy::Result<BodyFacts> again = dbproxy::InspectBody(call, *clamped);
  if (!again || !again->row_limit || *again->row_limit > 100 || !again->byte_limit ||
      *again->byte_limit > 4096 || again->warehouse != facts->warehouse ||
      again->statement_sha256 != facts->statement_sha256) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  static const std::array<Classification, 3> kCalls = {
      *dbproxy::ClassifyCall("POST", "/api/2.0/sql/statements"),
      *dbproxy::ClassifyCall("POST", "/api/2.2/jobs/run-now"),
      *dbproxy::ClassifyCall("POST", "/api/2.1/clusters/create")};
  switch (data[0] % 4) {
    case 0: FuzzRoute(input); break;
    default: FuzzBody(kCalls[data[0] % 4 - 1], input); break;
  }
  return 0;
}
