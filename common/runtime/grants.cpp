#include "common/runtime/grants.hpp"

#include <algorithm>
#include <tuple>

#include <nlohmann/json.hpp>

#include "common/store/credential_store_format.hpp"
#include "common/core/json_fields.hpp"

namespace dbproxy {
namespace {

bool GrantBefore(const Grant& a, const Grant& b) {
  return std::tie(a.service, a.role) < std::tie(b.service, b.role);
}

Result<Grant> GrantFromJson(const nlohmann::json& value, const JsonContext& context) {
  if (Status keys = CheckObjectKeys(value, {"service", "role", "reason", "granted_by",
                                            "granted_at", "expires_at"},
                                    context);
      !keys) {
    return std::move(keys).error();
  }
  Result<std::string> service = ReadString(value, "service", 64, context);
  if (!service) return std::move(service).error();
  Result<std::string> role = ReadString(value, "role", 64, context);
  if (!role) return std::move(role).error();
  Result<std::string> reason = ReadString(value, "reason", kMaxGrantReasonBytes, context);
  if (!reason) return std::move(reason).error();
  Result<std::string> granted_by = ReadString(value, "granted_by", kMaxActorBytes, context);
  if (!granted_by) return std::move(granted_by).error();
  Result<std::int64_t> granted_at = ReadCount(value, "granted_at", context);
  if (!granted_at) return std::move(granted_at).error();
  Result<std::optional<std::int64_t>> expires_at = ReadCountOrNull(value, "expires_at", context);
  if (!expires_at) return std::move(expires_at).error();
  if (expires_at->has_value() && **expires_at == 0) {
    return MakeError(context.code, context.where + ": 'expires_at' is null when there is none");
  }
  Grant grant{.service = std::move(*service),
              .role = std::move(*role),
              .reason = std::move(*reason),
              .granted_by = std::move(*granted_by),
              .granted_at = *granted_at,
              .expires_at = expires_at->value_or(0)};
  if (Status valid = ValidateGrant(grant); !valid) {
    return MakeError(context.code, context.where + ": " + valid.error().message);
  }
  return grant;
}

}  // namespace

Status ValidateGrant(const Grant& grant) {
  if (!IsValidName(grant.service)) return InvalidRequest("service must match [A-Za-z0-9._-]{1,64}");
  if (!IsValidName(grant.role)) return InvalidRequest("role must match [A-Za-z0-9._-]{1,64}");
  if (grant.reason.size() > kMaxGrantReasonBytes || !IsPrintableText(grant.reason)) {
    return InvalidRequest("reason must be printable text of at most 512 bytes");
  }
  if (grant.granted_by.empty() || grant.granted_by.size() > kMaxActorBytes ||
      !IsPrintableText(grant.granted_by)) {
    return InvalidRequest("granted_by must be printable text of 1 to 256 bytes");
  }
  if (grant.granted_at < 0) return InvalidRequest("granted_at must not be negative");
  if (grant.expires_at != 0 && grant.expires_at <= grant.granted_at) {
    return InvalidRequest("expires_at must be later than granted_at");
  }
  return Status::Ok();
}

nlohmann::json GrantToJson(const Grant& grant) {
  return {{"service", grant.service},
          {"role", grant.role},
          {"reason", grant.reason},
          {"granted_by", grant.granted_by},
          {"granted_at", grant.granted_at},
          {"expires_at", grant.expires_at == 0 ? nlohmann::json(nullptr)
                                               : nlohmann::json(grant.expires_at)}};
}

Status GrantSet::Add(Grant grant) {
  if (Status valid = ValidateGrant(grant); !valid) return valid;
  const auto it = std::lower_bound(grants_.begin(), grants_.end(), grant, GrantBefore);
  if (it != grants_.end() && it->service == grant.service && it->role == grant.role) {
    *it = std::move(grant);
    return Status::Ok();
  }
  if (grants_.size() >= kMaxGrants) {
    return MakeError(Errc::kConflict, "too many runtime grants (at most " +
                                          std::to_string(kMaxGrants) + "); revoke some first");
  }
  grants_.insert(it, std::move(grant));
  return Status::Ok();
}

Result<Grant> GrantSet::Remove(std::string_view service, std::string_view role) {
  const auto it = std::find_if(grants_.begin(), grants_.end(), [&](const Grant& g) {
    return g.service == service && g.role == role;
  });
  if (it == grants_.end()) {
    return MakeError(Errc::kNotFound, "no runtime grant of role '" + std::string(role) +
                                          "' to service '" + std::string(service) + "'");
  }
  Grant removed = std::move(*it);
  grants_.erase(it);
  return removed;
}

std::vector<std::string> GrantSet::ActiveRoles(std::string_view service, std::int64_t now) const {
  std::vector<std::string> roles;
  for (const Grant& grant : grants_) {
    // Sorted by (service, role), so the roles come out sorted and unique.
    if (grant.service == service && grant.ActiveAt(now)) roles.push_back(grant.role);
  }
  return roles;
}

bool GrantSet::PruneExpired(std::int64_t now) {
  const std::size_t before = grants_.size();
  std::erase_if(grants_, [now](const Grant& g) { return !g.ActiveAt(now); });
  return grants_.size() != before;
}

std::string GrantSet::Serialize() const {
  nlohmann::json list = nlohmann::json::array();
  for (const Grant& grant : grants_) list.push_back(GrantToJson(grant));
  const nlohmann::json doc = {{"version", 1}, {"grants", std::move(list)}};
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<GrantSet> GrantSet::Parse(std::string_view json) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded()) return MakeError(Errc::kCorrupt, "grants: not valid JSON");
  const JsonContext top{.code = Errc::kCorrupt, .where = "grants"};
  if (Status keys = CheckObjectKeys(doc, {"version", "grants"}, top); !keys) {
    return std::move(keys).error();
  }
  Result<std::int64_t> version = ReadCount(doc, "version", top);
  if (!version) return std::move(version).error();
  if (*version != 1) {
    return MakeError(Errc::kCorrupt, "grants: unsupported version " + std::to_string(*version));
  }
  const auto list = doc.find("grants");
  if (list == doc.end() || !list->is_array()) {
    return MakeError(Errc::kCorrupt, "grants: 'grants' must be an array");
  }
  if (list->size() > kMaxGrants) return MakeError(Errc::kCorrupt, "grants: too many grants");
  GrantSet set;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const JsonContext context{.code = Errc::kCorrupt,
                              .where = "grants: grant " + std::to_string(i + 1)};
    Result<Grant> grant = GrantFromJson((*list)[i], context);
    if (!grant) return std::move(grant).error();
    const auto it = std::lower_bound(set.grants_.begin(), set.grants_.end(), *grant, GrantBefore);
    if (it != set.grants_.end() && it->service == grant->service && it->role == grant->role) {
      return MakeError(Errc::kCorrupt, context.where + ": duplicate of an earlier grant");
    }
    set.grants_.insert(it, std::move(*grant));
  }
  return set;
}

}  // namespace dbproxy
