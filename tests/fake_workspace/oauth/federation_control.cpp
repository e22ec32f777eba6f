#include "tests/fake_workspace/oauth/federation_control.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "tests/fake_workspace/control.hpp"
#include "tests/fake_workspace/encoding.hpp"
#include "tests/fake_workspace/oauth/fake_idp.hpp"
#include "tests/fake_workspace/oauth/jwk.hpp"

namespace dbproxy::fake {
namespace {

constexpr std::string_view kPoliciesPath = "/_fake/federation/policies";

bool IsNonEmptyJsonString(const nlohmann::json& value) {
  return value.is_string() && !value.get_ref<const std::string&>().empty();
}

// The optional member `name` of `body`: nullopt when absent or null, else it must be a non-empty
// string (`valid` turns false otherwise).
std::optional<std::string> OptionalString(const nlohmann::json& body, const char* name,
                                          bool& valid) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!IsNonEmptyJsonString(*it)) {
    valid = false;
    return std::nullopt;
  }
  return it->get<std::string>();
}

// A policy from a POST body, or the reason it is refused.
std::variant<FederationPolicy, std::string> PolicyFrom(const nlohmann::json& body,
                                                       const WorkspaceState& state) {
  FederationPolicy policy;
  bool valid = true;
  policy.client_id = OptionalString(body, "client_id", valid);
  policy.subject = OptionalString(body, "subject", valid);
  const auto subject_claim = OptionalString(body, "subject_claim", valid);
  policy.jwks_json = OptionalString(body, "jwks_json", valid);
  if (!valid) return "client_id, subject, subject_claim and jwks_json must be non-empty strings";
  if (subject_claim) policy.subject_claim = *subject_claim;
  if (policy.client_id && !state.clients.contains(*policy.client_id)) {
    return "client_id '" + *policy.client_id + "' is not a registered client";
  }
  if (policy.client_id && !policy.subject) return "a service principal's policy needs subject";
  if (!body.contains("issuer") || !IsNonEmptyJsonString(body["issuer"]) ||
      !body["issuer"].get_ref<const std::string&>().starts_with("https://")) {
    return "issuer must be an https:// URL";
  }
  policy.issuer = body["issuer"].get<std::string>();
  const nlohmann::json audiences = body.value("audiences", nlohmann::json());
  if (!audiences.is_array() || audiences.empty() ||
      !std::all_of(audiences.begin(), audiences.end(), IsNonEmptyJsonString)) {
    return "audiences must be a non-empty array of non-empty strings";
  }
  policy.audiences = audiences.get<std::vector<std::string>>();
  if (policy.jwks_json) {
    if (std::string error = ParseJwks(*policy.jwks_json, policy.keys); !error.empty()) {
      return "jwks_json: " + error;
    }
  } else if (policy.issuer != IdpIssuer(state)) {
    return "jwks_json is required unless issuer is the fake IdP (" + IdpIssuer(state) + ")";
  }
  return policy;
}

FakeReply AddPolicy(const FakeRequest& request, WorkspaceState& state) {
  const auto body = ParseControlObject(
      request, {"client_id", "issuer", "audiences", "subject", "subject_claim", "jwks_json"});
  if (!body) {
    return ControlError(
        "expected {\"client_id\"?,\"issuer\",\"audiences\":[...],\"subject\"?,"
        "\"subject_claim\"?,\"jwks_json\"?}");
  }
  auto parsed = PolicyFrom(*body, state);
  if (auto* error = std::get_if<std::string>(&parsed)) return ControlError(*error);
  auto& policies = state.federation.policies;
  if (policies.size() >= FederationState::kPolicyLimit) {
    return ControlError("too many federation policies");
  }
  FederationPolicy& policy = policies.emplace_back(std::get<FederationPolicy>(std::move(parsed)));
  policy.id = NewUuid();
  return JsonReply(201, {{"id", policy.id}});
}

nlohmann::json OptionalJson(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

FakeReply ListPolicies(const WorkspaceState& state) {
  nlohmann::json policies = nlohmann::json::array();
  for (const FederationPolicy& policy : state.federation.policies) {
    policies.push_back({{"id", policy.id},
                        {"client_id", OptionalJson(policy.client_id)},
                        {"issuer", policy.issuer},
                        {"audiences", policy.audiences},
                        {"subject", OptionalJson(policy.subject)},
                        {"subject_claim", policy.subject_claim},
                        {"jwks_json", OptionalJson(policy.jwks_json)}});
  }
  return JsonReply(200, {{"policies", std::move(policies)}});
}

FakeReply DeletePolicy(std::string_view id, WorkspaceState& state) {
  auto& policies = state.federation.policies;
  if (std::erase_if(policies, [id](const FederationPolicy& p) { return p.id == id; }) == 0) {
    return JsonReply(404, {{"error", "no federation policy '" + std::string(id) + "'"}});
  }
  return JsonReply(200, {{"ok", true}});
}

FakeReply StatsReply(const FederationStats& stats) {
  return JsonReply(200, {{"attempted", stats.attempted},
                         {"granted", stats.granted},
                         {"refused", stats.refused},
                         {"last_refusal", stats.last_refusal},
                         {"last_grant", stats.last_grant}});
}

}  // namespace

std::optional<FakeReply> HandleFederationControl(const FakeRequest& request,
                                                 WorkspaceState& state) {
  const std::string_view path = request.path;
  if (path == kPoliciesPath && request.method == "POST") return AddPolicy(request, state);
  if (path == kPoliciesPath && request.method == "GET") return ListPolicies(state);
  if (path.starts_with(kPoliciesPath) && path.size() > kPoliciesPath.size() + 1 &&
      path[kPoliciesPath.size()] == '/' && request.method == "DELETE") {
    return DeletePolicy(path.substr(kPoliciesPath.size() + 1), state);
  }
  if (path == "/_fake/federation/stats" && request.method == "GET") {
    return StatsReply(state.federation.stats);
  }
  return std::nullopt;
}

}  // namespace dbproxy::fake
