// libFuzzer target for what both sockets do with the bytes of a connection, up to the handlers:
// Beast's request parser with the server's limits (agent/server/http_server.cpp: a header parser
// with header_limit, then a string_body parser with body_limit; the proxy's body read with
// inspect_body_limit), then our handling of the parsed head and body:
//   - proxy targets (IsProxyTarget): ParseProxyRoute with X-Dbproxy-Workspace, the header rules
//     (RequestHeadersToForward) and, for inspected calls, InspectBody/InspectQuery/ApplyClamps;
//   - other targets: SplitRequestTarget, DecodePathSegments, ParseQuery, and the JSON body
//     parsers of the admin API (grants, maintenance) and of token/explain bodies.
// Up to four requests are read from one input, as from a keep-alive connection.
// Only Beast's header-only HTTP parser is used (no Asio I/O, no coroutines).
// Invariants: bodies respect their limits and their Content-Length; a route's upstream target
// is its normalised path plus the caller's query; no credential header is forwarded; a clamped
// body inspects within the role's limits.
#include <utility>  // before Boost (see STYLE.md)

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>

#include "common/calls/http_target.hpp"
#include "common/calls/proxy_headers.hpp"
#include "common/calls/proxy_route.hpp"
#include "common/calls/request_body.hpp"
#include "common/runtime/runtime_api.hpp"

namespace {

namespace http = boost::beast::http;

// The server's defaults: HttpServerOptions and [proxy] inspect_body_limit.
constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr std::size_t kBodyLimit = 64 * 1024;
constexpr std::size_t kInspectBodyLimit = 1024 * 1024;

using HeaderParser = http::request_parser<http::empty_body>;
using BodyParser = http::request_parser<http::string_body>;

// Feeds the unread bytes to `parser` until `done`. False when the bytes run out first (the
// server would wait for more, then time out) or the parser refuses them (answered, closed).
template <class Parser, class Done>
bool Feed(Parser& parser, std::string_view& rest, Done done) {
  while (!done(parser)) {
    boost::beast::error_code ec;
    const std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    rest.remove_prefix(used);
    if (ec || used == 0) return false;
  }
  return true;
}

// Reads the rest of the message into a string_body parser; null when it cannot be read.
bool ReadBody(BodyParser& parser, std::size_t limit, std::string_view& rest) {
  parser.body_limit(limit);
  if (!Feed(parser, rest, [](const BodyParser& p) { return p.is_done(); })) return false;
  const std::string& body = parser.get().body();
  if (body.size() > limit) std::abort();
  const auto length = parser.content_length();
  if (length && *length != body.size()) std::abort();
  return true;
}

void CheckInspectedBody(const dbproxy::ProxyRoute& route, const std::string& body) {
  dbproxy::Result<dbproxy::BodyFacts> facts = dbproxy::InspectBody(route.classification, body);
  if (!facts) return;
  if (!dbproxy::InspectQuery(route.classification, route.query, *facts)) return;
  if (!facts->sql_statement) return;
  dbproxy::RoleLimits limits;
  limits.sql_row_limit_max = 1000;
  limits.sql_row_limit_clamp = true;
  const dbproxy::Result<std::string> clamped = dbproxy::ApplyClamps(body, limits, *facts);
  if (!clamped) return;
  const auto again = dbproxy::InspectBody(route.classification, *clamped);
  if (!again || !again->row_limit || *again->row_limit > 1000) std::abort();
}

// The proxy handler. True when the connection could carry another request.
bool HandleProxy(HeaderParser& header, std::string_view& rest) {
  const auto& head = header.get();
  const std::string method(head.method_string());
  const std::string target(head.target());
  std::vector<dbproxy::HeaderField> fields;
  for (const auto& field : head) {
    fields.push_back({std::string(field.name_string()), std::string(field.value())});
  }
  for (const auto& field : dbproxy::RequestHeadersToForward(fields, "0.0.0")) {
    if (!dbproxy::IsForwardableRequestHeader(field.name)) std::abort();
  }
  if (head.count(dbproxy::kWorkspaceHeader) > 1) return false;
  const auto route = dbproxy::ParseProxyRoute(method, target,
                                              head[dbproxy::kWorkspaceHeader], "default");
  if (!route) return false;
  const std::string upstream = route->UpstreamTarget();
  if (!upstream.starts_with(route->classification.normalized_path)) std::abort();
  if (!route->query.empty() && !upstream.ends_with("?" + route->query)) std::abort();
  if (!dbproxy::BodyNeedsInspection(route->classification, method)) return false;  // streamed
  const bool keep_alive = header.keep_alive();
  BodyParser full(std::move(header));
  if (!ReadBody(full, kInspectBodyLimit, rest)) return false;
  CheckInspectedBody(*route, full.get().body());
  return keep_alive;
}

// Token, explain and admin handlers: a complete request with a bounded body.
bool HandleLocal(HeaderParser& header, std::string_view& rest) {
  BodyParser full(std::move(header));
  if (!ReadBody(full, kBodyLimit, rest)) return false;
  const auto& request = full.get();
  const std::string target(request.target());
  const std::string& body = request.body();
  const dbproxy::SplitTarget split = dbproxy::SplitRequestTarget(target);
  (void)dbproxy::DecodePathSegments(split.path);
  (void)dbproxy::ParseQuery(split.query);
  if (split.path == "/v1/grants") {
    (void)dbproxy::ParseGrantRequest(body);
  } else if (split.path == "/v1/maintenance") {
    if (request.method() == http::verb::delete_) {
      (void)dbproxy::ParseMaintenanceQuery(split.query);
    } else {
      (void)dbproxy::ParseMaintenanceRequest(body);
    }
  } else {
    (void)nlohmann::json::parse(body, nullptr, false);  // /v1/token, /v1/explain: JSON objects
  }
  return request.keep_alive();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (int request = 0; request < 4 && !rest.empty(); ++request) {
    HeaderParser header;
    header.header_limit(static_cast<std::uint32_t>(kHeaderLimit));
    if (!Feed(header, rest, [](const HeaderParser& p) { return p.is_header_done(); })) break;
    const bool carries_on = dbproxy::IsProxyTarget(header.get().target())
                                ? HandleProxy(header, rest)
                                : HandleLocal(header, rest);
    if (!carries_on) break;
  }
  return 0;
}
