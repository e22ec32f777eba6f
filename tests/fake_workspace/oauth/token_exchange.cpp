#include "tests/fake_workspace/oauth/token_exchange.hpp"

#include <chrono>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "tests/fake_workspace/oauth/fake_idp.hpp"
#include "tests/fake_workspace/oauth/jws.hpp"
#include "tests/fake_workspace/oauth/subject_token_check.hpp"
#include "tests/fake_workspace/oauth/token_issuer.hpp"

namespace dbproxy::fake {
namespace {

constexpr std::string_view kJwtTokenType = "urn:ietf:params:oauth:token-type:jwt";

using Form = std::map<std::string, std::string>;

struct Refusal {
  int status = 400;
  std::string error = {};
  std::string description = {};
};

// A subject token that a federation policy accepted.
struct Federated {
  std::optional<std::string> client_id = std::nullopt;  // nullopt: account-wide federation
  std::string subject = {};
};

Refusal InvalidRequest(std::string description) {
  return Refusal{.status = 400, .error = "invalid_request", .description = std::move(description)};
}
Refusal InvalidGrant(std::string description) {
  return Refusal{.status = 400, .error = "invalid_grant", .description = std::move(description)};
}

std::optional<std::string> FormField(const Form& form, const std::string& name) {
  const auto it = form.find(name);
  return it == form.end() ? std::nullopt : std::optional<std::string>(it->second);
}

std::int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
}

// The policies of `client_id` (or the account-wide ones) that trust `issuer`, tried in creation
// order: the first that accepts the token wins; when none does, the first one's reason is given.
std::variant<Federated, Refusal> MatchPolicy(const DecodedJwt& jwt, const std::string& issuer,
                                             const std::optional<std::string>& client_id,
                                             WorkspaceState& state) {
  std::optional<std::string> first_refusal;
  for (const FederationPolicy& policy : state.federation.policies) {
    if (policy.client_id != client_id || policy.issuer != issuer) continue;
    // Policies without inline keys trust the fake IdP (checked when they were created).
    const std::vector<VerificationKey> keys =
        policy.jwks_json ? policy.keys : IdpPublishedKeys(state);
    std::string subject;
    std::string refusal = CheckSubjectToken(jwt, policy, keys, UnixNow(), subject);
    if (refusal.empty()) return Federated{.client_id = client_id, .subject = std::move(subject)};
    if (!first_refusal) first_refusal = std::move(refusal);
  }
  if (first_refusal) return InvalidGrant(*std::move(first_refusal));
  return InvalidGrant(client_id ? "No federation policy of client '" + *client_id +
                                      "' trusts issuer '" + issuer + "'"
                                : "No account federation policy trusts issuer '" + issuer + "'");
}

// Checks the grant's parameters, then the subject token against the matching policies.
std::variant<Federated, Refusal> Federate(const FakeRequest& request, const Form& form,
                                          WorkspaceState& state) {
  // Databricks federation has no client secret; a secret sent here is a client bug worth seeing.
  if (request.Header("Authorization") || form.contains("client_secret")) {
    return InvalidRequest("Client authentication is not used with the token-exchange grant");
  }
  const auto subject_token = FormField(form, "subject_token");
  if (!subject_token || subject_token->empty()) return InvalidRequest("Missing subject_token");
  const auto token_type = FormField(form, "subject_token_type");
  if (!token_type) return InvalidRequest("Missing subject_token_type");
  if (*token_type != kJwtTokenType) {
    return InvalidRequest("Unsupported subject_token_type '" + *token_type + "'");
  }
  const auto client_id = FormField(form, "client_id");
  if (client_id && !state.clients.contains(*client_id)) {
    return Refusal{
        .status = 401, .error = "invalid_client", .description = "Client authentication failed"};
  }
  const auto jwt = DecodeJwt(*subject_token);
  if (!jwt) return InvalidRequest("subject_token is not a JWT");
  const auto issuer = jwt->claims.find("iss");
  if (issuer == jwt->claims.end() || !issuer->is_string()) {
    return InvalidGrant("Subject token has no iss claim");
  }
  return MatchPolicy(*jwt, issuer->get<std::string>(), client_id, state);
}

nlohmann::json OptionalJson(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

FakeReply HandleTokenExchange(const FakeRequest& request, const Form& form, WorkspaceState& state) {
  FederationStats& stats = state.federation.stats;
  ++stats.attempted;
  auto outcome = Federate(request, form, state);
  std::string principal;
  std::optional<std::vector<std::string>> scopes;
  if (const auto* federated = std::get_if<Federated>(&outcome)) {
    // Workload federation acts as the client; account-wide federation as the subject, with the
    // limits of a client when the subject names one.
    principal = federated->client_id.value_or(federated->subject);
    const auto client = state.clients.find(principal);
    std::string error;
    scopes = GrantableScopes(
        FormField(form, "scope"),
        client == state.clients.end() ? std::nullopt : client->second.allowed_scopes, error);
    if (!scopes) outcome = Refusal{.status = 400, .error = "invalid_scope", .description = error};
  }
  if (const auto* refusal = std::get_if<Refusal>(&outcome)) {
    ++stats.refused;
    stats.last_refusal = {{"error", refusal->error}, {"error_description", refusal->description}};
    return OAuthError(refusal->status, refusal->error, refusal->description);
  }
  const auto& federated = std::get<Federated>(outcome);
  ++stats.granted;
  stats.last_grant = {{"client_id", OptionalJson(federated.client_id)},
                      {"subject", federated.subject},
                      {"scope", JoinScopes(*scopes)}};
  return IssueToken(principal, std::move(*scopes), state);
}

}  // namespace dbproxy::fake
