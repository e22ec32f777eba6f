// libFuzzer target for the admin API's JSON request bodies and query (common/runtime/runtime_api:
// ParseGrantRequest, ParseMaintenanceRequest, ParseMaintenanceQuery; common/policy/explain_request:
// ParseExplainRequest) and the strict field readers under them (common/core/json_fields).
// Invariants:
//   - a parsed request, written back by its ToJson, parses to the same request;
//   - a parsed maintenance query, written back by MaintenanceQuery, parses to the same key;
//   - names are valid, reasons printable and bounded, durations in range;
//   - an explain request has an action, and its jwt claims and saml attributes keep their
//     prefixes and bounds;
//   - ReadString respects its byte bound, ReadCount never returns a negative number, and
//     IsPrintableText agrees with its definition.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/core/duration.hpp"
#include "common/core/json_fields.hpp"
#include "common/policy/explain_request.hpp"
#include "common/runtime/grants.hpp"
#include "common/runtime/runtime_api.hpp"
#include "common/store/credential_store_format.hpp"

namespace {

bool Printable(std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return false;
  }
  return true;
}

void CheckReasonAndDuration(const std::string& reason, std::int64_t for_seconds) {
  if (reason.size() > dbproxy::kMaxGrantReasonBytes || !Printable(reason)) std::abort();
  if (for_seconds < 0 || for_seconds > dbproxy::kMaxDurationSeconds) std::abort();
}

void CheckGrant(std::string_view body) {
  const auto request = dbproxy::ParseGrantRequest(body);
  if (!request) return;
  if (!dbproxy::IsValidName(request->service) || !dbproxy::IsValidName(request->role)) {
    std::abort();
  }
  CheckReasonAndDuration(request->reason, request->for_seconds);
  const auto again = dbproxy::ParseGrantRequest(dbproxy::GrantRequestToJson(*request).dump());
  if (!again || again->service != request->service || again->role != request->role ||
      again->reason != request->reason || again->for_seconds != request->for_seconds) {
    std::abort();
  }
}

void CheckMaintenance(std::string_view body) {
  const auto request = dbproxy::ParseMaintenanceRequest(body);
  if (!request) return;
  const bool global = request->scope == dbproxy::MaintenanceScope::kGlobal;
  if (global != request->target.empty()) std::abort();
  CheckReasonAndDuration(request->reason, request->for_seconds);
  const auto again =
      dbproxy::ParseMaintenanceRequest(dbproxy::MaintenanceRequestToJson(*request).dump());
  if (!again || again->scope != request->scope || again->target != request->target ||
      again->reason != request->reason || again->for_seconds != request->for_seconds) {
    std::abort();
  }
}

void CheckQuery(std::string_view query) {
  const auto key = dbproxy::ParseMaintenanceQuery(query);
  if (!key) return;
  const auto again = dbproxy::ParseMaintenanceQuery(dbproxy::MaintenanceQuery(*key));
  if (!again || again->scope != key->scope || again->target != key->target) std::abort();
}

void CheckExplain(std::string_view body) {
  const nlohmann::json value = nlohmann::json::parse(body, nullptr, false);
  if (value.is_discarded()) return;
  const auto request = dbproxy::ParseExplainRequest(value, 0);
  if (!request) return;
  if (request->facts.action.empty()) std::abort();
  if (request->jwt) {
    if (request->jwt_idp.empty() || request->jwt->size() > dbproxy::kMaxExplainClaims) std::abort();
    for (const auto& [name, claim] : *request->jwt) {
      if (!name.starts_with("jwt.")) std::abort();
    }
  }
  if (request->saml) {
    if (request->saml_idp.empty() || request->saml->size() > dbproxy::kMaxExplainClaims) {
      std::abort();
    }
    for (const auto& [name, values] : *request->saml) {
      if (!name.starts_with("saml.") || !dbproxy::IsValidClaimName(name.substr(5)) ||
          values.size() > dbproxy::kMaxExplainClaimValues) {
        std::abort();
      }
    }
  }
}

void CheckFields(std::string_view body) {
  const nlohmann::json value = nlohmann::json::parse(body, nullptr, false);
  if (value.is_discarded()) return;
  const dbproxy::JsonContext context{.code = dbproxy::Errc::kInvalidRequest, .where = "fuzz"};
  (void)dbproxy::CheckObjectKeys(value, {"a", "b"}, context);
  if (!value.is_object()) return;
  for (const char* key : {"a", "b", ""}) {
    const auto text = dbproxy::ReadString(value, key, 8, context);
    if (text && text->size() > 8) std::abort();
    const auto count = dbproxy::ReadCount(value, key, context);
    if (count && *count < 0) std::abort();
    const auto maybe = dbproxy::ReadCountOrNull(value, key, context);
    if (maybe && *maybe && **maybe < 0) std::abort();
    if (count && (!maybe || *maybe != *count)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (dbproxy::IsPrintableText(text) != Printable(text)) std::abort();
  CheckGrant(text);
  CheckMaintenance(text);
  CheckQuery(text);
  CheckExplain(text);
  CheckFields(text);
  return 0;
}
