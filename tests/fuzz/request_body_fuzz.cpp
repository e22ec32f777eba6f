// libFuzzer target for the proxy's request body and query facts (common/calls/request_body:
// InspectBody, InspectQuery, ApplyClamps) over every inspected call and any role limits.
// Input: byte 0 picks the call, byte 1 the role's limits, then "<query>\0<body>" (no NUL: all
// body). Invariants:
//   - facts are well formed: limits > 0, a canonical decimal job_id, a 64-hex statement hash;
//   - a query never changes the body's job_id;
//   - ApplyClamps returns the body byte for byte when nothing needs clamping; otherwise its
//     output inspects cleanly, respects the clamped limits, keeps every other fact and every
//     other top-level field unchanged.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/calls/request_body.hpp"

namespace {

using dbproxy::BodyFacts;
using dbproxy::Classification;

struct Call {
  std::string_view method;
  std::string_view path;
};
constexpr std::array<Call, 14> kCalls = {{
    {"POST", "/api/2.0/sql/statements"},      {"POST", "/api/2.2/jobs/run-now"},
    {"POST", "/api/2.1/jobs/reset"},          {"POST", "/api/2.1/jobs/update"},
    {"POST", "/api/2.1/jobs/delete"},         {"POST", "/api/2.1/jobs/runs/cancel-all"},
    {"POST", "/api/2.1/clusters/create"},     {"POST", "/api/2.1/clusters/edit"},
    {"POST", "/api/2.1/clusters/resize"},     {"GET", "/api/2.1/jobs/get"},
    {"GET", "/api/2.2/jobs/runs/list"},       {"POST", "/api/2.2/jobs/create"},
    {"POST", "/api/2.2/jobs/runs/submit"},    {"POST", "/api/2.1/clusters/update"},
}};

bool IsCanonicalDecimal(const std::string& text) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

void CheckFacts(const BodyFacts& facts) {
  if ((facts.row_limit && *facts.row_limit <= 0) || (facts.byte_limit && *facts.byte_limit <= 0)) {
    std::abort();
  }
  if (facts.job_id && !IsCanonicalDecimal(*facts.job_id)) std::abort();
  if (!facts.statement_sha256.empty()) {
    if (facts.statement_sha256.size() != 64) std::abort();
    for (char c : facts.statement_sha256) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) std::abort();
    }
  }
}

nlohmann::json WithoutLimits(std::string_view body) {
  nlohmann::json json = body.empty() ? nlohmann::json::object()
                                     : nlohmann::json::parse(body, nullptr, false);
  if (json.is_object()) {
    json.erase("row_limit");
    json.erase("byte_limit");
  }
  return json;
}

void CheckClamps(const Classification& call, std::string_view body, const BodyFacts& facts,
                 const dbproxy::RoleLimits& limits) {
  const dbproxy::Result<std::string> clamped = dbproxy::ApplyClamps(body, limits, facts);
  if (!clamped) return;
  const bool rows = limits.sql_row_limit_clamp && limits.sql_row_limit_max &&
                    (!facts.row_limit || *facts.row_limit > *limits.sql_row_limit_max);
  const bool bytes = limits.sql_byte_limit_clamp && limits.sql_byte_limit_max &&
                     (!facts.byte_limit || *facts.byte_limit > *limits.sql_byte_limit_max);
  if (!rows && !bytes) {
    if (*clamped != body) std::abort();
    return;
  }
  const dbproxy::Result<BodyFacts> again = dbproxy::InspectBody(call, *clamped);
  if (!again) std::abort();
  if (again->row_limit != (rows ? limits.sql_row_limit_max : facts.row_limit)) std::abort();
  if (again->byte_limit != (bytes ? limits.sql_byte_limit_max : facts.byte_limit)) std::abort();
  if (again->warehouse != facts.warehouse || again->disposition != facts.disposition ||
      again->statement_bytes != facts.statement_bytes ||
      again->statement_sha256 != facts.statement_sha256 || !again->sql_statement) {
    std::abort();
  }
  if (WithoutLimits(*clamped) != WithoutLimits(body)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  static const std::array<Classification, kCalls.size()> kClassified = [] {
    std::array<Classification, kCalls.size()> out{};
    for (std::size_t i = 0; i < kCalls.size(); ++i) {
      out[i] = *dbproxy::ClassifyCall(kCalls[i].method, kCalls[i].path);
    }
    return out;
  }();
  const std::size_t index = data[0] % kCalls.size();
  const Classification& call = kClassified[index];
  dbproxy::RoleLimits limits;
  limits.sql_row_limit_max = 1 + (data[1] & 0x3f) * 100;
  limits.sql_byte_limit_max = 1 + (data[1] & 0x0f) * 1000;
  limits.sql_row_limit_clamp = (data[1] & 0x40) != 0;
  limits.sql_byte_limit_clamp = (data[1] & 0x80) != 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::size_t nul = rest.find('\0');
  const std::string_view query = nul == std::string_view::npos ? "" : rest.substr(0, nul);
  const std::string_view body = nul == std::string_view::npos ? rest : rest.substr(nul + 1);

  const bool inspected = dbproxy::BodyNeedsInspection(call, kCalls[index].method);
  if (inspected != (kCalls[index].method == "POST")) std::abort();
  BodyFacts facts;
  if (inspected) {
    dbproxy::Result<BodyFacts> read = dbproxy::InspectBody(call, body);
    if (!read) return 0;
    facts = std::move(*read);
    CheckFacts(facts);
    if (facts.sql_statement != (index == 0)) std::abort();
  }
  const std::optional<std::string> body_job = facts.job_id;
  if (dbproxy::InspectQuery(call, query, facts)) {
    CheckFacts(facts);
    if (body_job && facts.job_id != body_job) std::abort();
  }
  if (facts.sql_statement) CheckClamps(call, body, facts, limits);
  return 0;
}
