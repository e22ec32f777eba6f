// Request types of the admin API for runtime grants and maintenance (routes in
// agent/admin_runtime_api.hpp), shared by dbproxyd, which parses them, and dbproxyctl, which
// builds them. Parsers are strict: unknown fields, wrong types and out-of-range values are
// kInvalidRequest with a message naming the field. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/runtime/maintenance.hpp"
#include "common/core/result.hpp"

namespace dbproxy {

// POST /v1/grants {"service","role","for_seconds"?,"reason"?}
struct GrantRequest {
  std::string service;
  std::string role;
  std::string reason;
  std::int64_t for_seconds = 0;  // 0 = no expiry (the field is absent)
};

// service and role are required valid names (IsValidName); reason at most 512 bytes;
// for_seconds an integer in 1..kMaxDurationSeconds.
Result<GrantRequest> ParseGrantRequest(std::string_view body);
nlohmann::json GrantRequestToJson(const GrantRequest& request);

// POST /v1/maintenance {"scope","target"?,"reason"?,"for_seconds"?}
struct MaintenanceRequest {
  MaintenanceScope scope = MaintenanceScope::kGlobal;
  std::string target;  // empty (absent) for global; a valid name otherwise
  std::string reason;
  std::int64_t for_seconds = 0;  // 0 = until switched off (the field is absent)
};

// scope is "global", "service" or "workspace"; target must be absent for global and a valid
// name otherwise; reason and for_seconds as for grants.
Result<MaintenanceRequest> ParseMaintenanceRequest(std::string_view body);
nlohmann::json MaintenanceRequestToJson(const MaintenanceRequest& request);

// DELETE /v1/maintenance?scope=S[&target=T]
struct MaintenanceKey {
  MaintenanceScope scope = MaintenanceScope::kGlobal;
  std::string target;  // empty for global
};

// Parses the query string (without '?'); the same rules for scope and target as above, and no
// other parameters.
Result<MaintenanceKey> ParseMaintenanceQuery(std::string_view query);
// "scope=global" or "scope=service&target=NAME". REQUIRES: target is a valid name or empty
// (valid names need no percent-encoding).
std::string MaintenanceQuery(const MaintenanceKey& key);

}  // namespace dbproxy
