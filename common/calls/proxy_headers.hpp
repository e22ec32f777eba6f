// Proxy mode: which header fields pass between the caller and the workspace.
//
// Request (caller -> workspace), dropped:
//   - credentials: Authorization, Proxy-Authorization, Cookie, and the caller-side cloud auth
//     fields X-Databricks-Azure-SP-Management-Token, X-Databricks-Azure-Workspace-Resource-Id,
//     X-Databricks-GCP-SA-Access-Token (the agent's token alone authenticates the call);
//   - hop-by-hop (RFC 9110 §7.6.1): Connection, every field Connection names, Keep-Alive,
//     Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade;
//   - framing and routing the transport redoes: Host (set from the workspace host),
//     Content-Length (set for the body actually sent, which a clamp may have rewritten),
//     Expect (the agent reads the whole body before forwarding);
//   - local identity: Forwarded, Via, X-Forwarded-*, X-Real-IP, X-Dbproxy-* (ours);
//   - method and path overrides: X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override,
//     X-Original-URL, X-Rewrite-URL. The policy classifies a call by its real method and path,
//     and a server honouring one of these would run another call than the one decided and
//     audited (a GET allowed as a read, executed as a DELETE). They are dropped rather than
//     refused: the workspace then runs exactly the call that was decided, Databricks documents
//     none of them, and the header rules stay in this one pure function.
//   User-Agent gets " dbproxy/<version>" appended ("dbproxy/<version>" when absent).
//   Everything else passes unchanged and in order (Content-Type, Accept, X-Databricks-*...).
// Response (workspace -> caller), dropped: hop-by-hop (as above), Content-Length (the transport
//   frames the body it sends), Set-Cookie (a session cookie minted for the agent's token must
//   not reach the caller), Alt-Svc (names the workspace's endpoints, not ours). Everything else
//   passes (Content-Type, Retry-After, X-Request-Id, x-databricks-request-id...).
//
// Field names compare case-insensitively; values are not inspected except Connection's list.
// Pure; thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dbproxy {

struct HeaderField {
  std::string name;
  std::string value;
};

// The caller's fields to send upstream, in their order, with User-Agent rewritten (appended
// last when the caller sent none; of several User-Agent fields only the first is kept).
// `version` is the agent's version, e.g. "0.4.0".
std::vector<HeaderField> RequestHeadersToForward(std::span<const HeaderField> caller,
                                                 std::string_view version);

// The workspace's response fields to return to the caller, in their order.
std::vector<HeaderField> ResponseHeadersToReturn(std::span<const HeaderField> upstream);

// Whether a single field `name` may be forwarded in the given direction, ignoring fields named
// by Connection (for callers that filter in place; RequestHeadersToForward handles those).
// User-Agent is forwardable: a caller filtering in place sets it to UserAgentFor(value).
bool IsForwardableRequestHeader(std::string_view name);
bool IsReturnableResponseHeader(std::string_view name);

// The User-Agent to send upstream: `caller_value` (trimmed) + " dbproxy/<version>", or
// "dbproxy/<version>" when the caller sent none or an empty one.
std::string UserAgentFor(std::string_view caller_value, std::string_view version);

// The Databricks request id of a response: the value of X-Request-Id, else of
// x-databricks-request-id (any case); empty when neither is present.
std::string_view DatabricksRequestId(std::span<const HeaderField> response);

}  // namespace dbproxy
