// Runtime grants: a role given to a service by an operator (`dbproxyctl grant`), optionally
// until a point in time, on top of the roles its policy file lists. The model and the byte
// format of grants.json; the agent does the file I/O (agent/runtime_state.hpp).
//
// grants.json, exactly this shape (keys in any order, no others):
//   {"version":1,"grants":[{"service":"billing-etl","role":"etl","reason":"INC-42",
//     "granted_by":"alice","granted_at":1767225600,"expires_at":1767232800}]}
// "expires_at" is null for a grant without expiry. Times are Unix seconds. A grant is active
// while now < expires_at: it lapses at exactly expires_at.
//
// Pure (time is passed in). Not synchronised: one owner, or share it immutable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/core/result.hpp"

namespace dbproxy {

inline constexpr std::size_t kMaxGrantReasonBytes = 512;
inline constexpr std::size_t kMaxActorBytes = 256;  // granted_by / set_by
inline constexpr std::size_t kMaxGrants = 4096;

struct Grant {
  std::string service;
  std::string role;
  std::string reason;      // free text, may be empty
  std::string granted_by;  // the operator's user name, or "uid:N"
  std::int64_t granted_at = 0;
  std::int64_t expires_at = 0;  // 0 = no expiry

  // True while the grant applies: no expiry, or now < expires_at.
  bool ActiveAt(std::int64_t now) const { return expires_at == 0 || now < expires_at; }
  bool operator==(const Grant&) const = default;
};

// OK when `grant` may be stored: service and role are valid names (IsValidName), reason is
// printable text of at most kMaxGrantReasonBytes, granted_by is 1..kMaxActorBytes of printable
// text, granted_at >= 0, expires_at is 0 or later than granted_at.
// Errors: kInvalidRequest naming the field.
Status ValidateGrant(const Grant& grant);

// The grant as an API/file object: {"service","role","reason","granted_by","granted_at",
// "expires_at"} with expires_at null when there is none.
nlohmann::json GrantToJson(const Grant& grant);

class GrantSet {
 public:
  // Adds `grant`, replacing the grant for the same (service, role) if there is one.
  // Errors: ValidateGrant's; kConflict when kMaxGrants grants exist already.
  Status Add(Grant grant);
  // Removes and returns the grant for (service, role). kNotFound when there is none.
  Result<Grant> Remove(std::string_view service, std::string_view role);
  // Roles granted to `service` that are active at `now`, sorted, without duplicates.
  std::vector<std::string> ActiveRoles(std::string_view service, std::int64_t now) const;
  // Drops grants no longer active at `now`; true when anything was removed.
  bool PruneExpired(std::int64_t now);

  // Sorted by (service, role).
  const std::vector<Grant>& grants() const { return grants_; }

  // The grants.json text described above (compact, with a final newline).
  std::string Serialize() const;
  // Parses grants.json text. Strict: wrong version, unknown keys, missing keys, wrong types,
  // an invalid grant (see ValidateGrant), a duplicate (service, role) or more than kMaxGrants
  // grants are all kCorrupt, with a message saying which grant and field.
  static Result<GrantSet> Parse(std::string_view json);

 private:
  std::vector<Grant> grants_;
};

}  // namespace dbproxy
