// The body of POST /v1/explain (admin API, `dbproxyctl explain`): who asks and the request
// facts to decide on, the same facts a proxied call or a token request carries, so that explain
// is what a request with those facts gets (Decide in decide.hpp).
//
//   {"uid"?,"gid"?,"user"?,"unit"?,"exe"?,"service"?,"workspace"?,
//    "action"? | ("method","path"),
//    "warehouse"?,"row_limit"?,"byte_limit"?,"statement_bytes"?,"disposition"?,"job_id"?,
//    "node_type"?,"driver_node_type"?,"num_workers"?,"time"? (unix s)}
//
// Integers: uid, gid, row_limit, byte_limit, statement_bytes, num_workers (>= 0), time;
// job_id is an integer or a decimal string. Everything else is a string. Unknown keys are
// errors. row_limit/byte_limit 0 mean "not set", as in a statement body.
//
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/core/result.hpp"
#include "common/policy/rules.hpp"

namespace dbproxy {

struct ExplainRequest {
  // The described caller; names not given are left to the agent to look up from the ids.
  std::optional<std::int64_t> uid{};
  std::optional<std::int64_t> gid{};
  std::optional<std::string> user{};
  std::string unit{};
  std::string exe{};
  std::string service{};  // non-empty: decide for this service, no matching
  // Action (or method + path classified), workspace (empty: the service's default), time and
  // the call facts, as the proxy would build them from the call's body.
  RequestFacts facts{};
};

// Parses and checks an explain body; `now` stands for an absent "time".
// Errors: kInvalidRequest for an unknown field, a wrong type, a negative count, neither an
// action nor a method and a path, or an action/path that does not classify.
Result<ExplainRequest> ParseExplainRequest(const nlohmann::json& body, std::int64_t now);

}  // namespace dbproxy
