#include "tests/fake_workspace/oauth/oauth_endpoints.hpp"

#include <string>
#include <utility>
#include <variant>

#include <openssl/crypto.h>

#include "tests/fake_workspace/encoding.hpp"
#include "tests/fake_workspace/oauth/scopes.hpp"
#include "tests/fake_workspace/oauth/token_exchange.hpp"
#include "tests/fake_workspace/oauth/token_issuer.hpp"

namespace dbproxy::fake {
namespace {

struct ClientCredentials {
  std::string id;
  std::string secret;
};

bool IsFormContentType(std::string_view value) {
  const std::string_view media_type = value.substr(0, value.find(';'));
  return EqualsIgnoreCase(media_type, "application/x-www-form-urlencoded");
}

// RFC 6749 §2.3.1: both halves of the Basic credential are form-urlencoded before base64.
std::optional<ClientCredentials> ParseBasicCredentials(std::string_view header) {
  constexpr std::string_view kPrefix = "Basic ";
  if (header.size() < kPrefix.size() || !EqualsIgnoreCase(header.substr(0, 6), kPrefix)) {
    return std::nullopt;
  }
  const auto decoded = Base64Decode(header.substr(kPrefix.size()));
  if (!decoded) return std::nullopt;
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  auto id = FormUrlDecode(std::string_view(*decoded).substr(0, colon));
  auto secret = FormUrlDecode(std::string_view(*decoded).substr(colon + 1));
  if (!id || !secret) return std::nullopt;
  return ClientCredentials{std::move(*id), std::move(*secret)};
}

bool SecretMatches(const std::string& expected, const std::string& given) {
  return expected.size() == given.size() &&
         CRYPTO_memcmp(expected.data(), given.data(), expected.size()) == 0;
}

FakeReply InvalidClient() {
  return OAuthError(401, "invalid_client", "Client authentication failed");
}

// Client authentication by HTTP Basic or by form fields, never both (RFC 6749 §2.3).
// Returns the credentials, or the error reply to send.
std::variant<ClientCredentials, FakeReply> ClientFrom(
    const FakeRequest& request, const std::map<std::string, std::string>& form) {
  const bool in_form = form.contains("client_id") || form.contains("client_secret");
  const auto authorization = request.Header("Authorization");
  if (authorization && in_form) {
    return OAuthError(400, "invalid_request", "Multiple client authentication methods used");
  }
  if (authorization) {
    auto basic = ParseBasicCredentials(*authorization);
    if (!basic) return InvalidClient();
    return std::move(*basic);
  }
  const auto id = form.find("client_id");
  const auto secret = form.find("client_secret");
  if (id == form.end() || secret == form.end()) return InvalidClient();
  return ClientCredentials{id->second, secret->second};
}

}  // namespace

FakeReply HandleOAuthDiscovery(const WorkspaceState& state) {
  const std::string issuer = state.base_url + "/oidc";
  return JsonReply(
      200,
      {{"issuer", issuer},
       {"authorization_endpoint", issuer + "/v1/authorize"},
       {"token_endpoint", issuer + "/v1/token"},
       {"jwks_uri", issuer + "/jwks.json"},
       {"scopes_supported", DiscoveryScopes()},
       {"response_types_supported", {"code", "id_token"}},
       {"response_modes_supported", {"query", "fragment", "form_post"}},
       {"grant_types_supported",
        {"client_credentials", "authorization_code", "refresh_token", kTokenExchangeGrant}},
       {"code_challenge_methods_supported", {"S256"}},
       {"token_endpoint_auth_methods_supported", {"client_secret_basic", "client_secret_post"}},
       {"subject_types_supported", {"public"}},
       {"id_token_signing_alg_values_supported", {"RS256"}}});
}

FakeReply HandleTokenRequest(const FakeRequest& request, WorkspaceState& state) {
  const auto content_type = request.Header("Content-Type");
  if (!content_type || !IsFormContentType(*content_type)) {
    return OAuthError(400, "invalid_request",
                      "Content-Type must be application/x-www-form-urlencoded");
  }
  const auto form = ParseForm(request.body);
  if (!form) return OAuthError(400, "invalid_request", "Malformed request body");
  const auto grant_type = form->find("grant_type");
  if (grant_type == form->end()) {
    return OAuthError(400, "invalid_request", "Missing grant_type");
  }
  // Federation needs no client authentication: the subject token is the credential.
  if (grant_type->second == kTokenExchangeGrant) return HandleTokenExchange(request, *form, state);
  auto client = ClientFrom(request, *form);
  if (auto* error = std::get_if<FakeReply>(&client)) return std::move(*error);
  const auto& credentials = std::get<ClientCredentials>(client);
  const auto record = state.clients.find(credentials.id);
  if (record == state.clients.end() || !SecretMatches(record->second.secret, credentials.secret)) {
    return InvalidClient();
  }
  if (grant_type->second != "client_credentials") {
    return OAuthError(400, "unsupported_grant_type",
                      "Grant type '" + grant_type->second + "' is not supported");
  }
  const auto scope_field = form->find("scope");
  std::string error;
  auto scopes = GrantableScopes(
      scope_field == form->end() ? std::nullopt : std::optional<std::string>(scope_field->second),
      record->second.allowed_scopes, error);
  if (!scopes) return OAuthError(400, "invalid_scope", error);
  return IssueToken(credentials.id, std::move(*scopes), state);
}

}  // namespace dbproxy::fake
