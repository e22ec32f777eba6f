#include "tests/fake_workspace/oauth/token_issuer.hpp"

#include <chrono>
#include <string>
#include <utility>

#include "tests/fake_workspace/encoding.hpp"
#include "tests/fake_workspace/oauth/scopes.hpp"

namespace dbproxy::fake {
namespace {

constexpr std::string_view kDefaultScope = "all-apis";

std::string MintAccessToken(const std::string& client_id, const std::string& scope,
                            Clock::time_point now, std::chrono::seconds lifetime,
                            const std::string& issuer) {
  const auto iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
  const nlohmann::json header = {{"alg", "RS256"}, {"typ", "at+jwt"}, {"kid", "fake-workspace"}};
  const nlohmann::json payload = {{"iss", issuer},          {"sub", client_id},
                                  {"client_id", client_id}, {"scope", scope},
                                  {"iat", iat.count()},     {"exp", (iat + lifetime).count()},
                                  {"jti", NewUuid()}};
  // The "signature" is random: nobody verifies it, and it makes every token unique.
  return Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload.dump()) + "." +
         Base64UrlEncode(RandomBytes(32));
}

// Expired tokens are dropped once the map is large; the hard cap bounds memory in long runs.
void PruneTokens(WorkspaceState& state, Clock::time_point now) {
  if (state.tokens.size() < WorkspaceState::kTokenLimit) return;
  std::erase_if(state.tokens, [now](const auto& entry) { return entry.second.expiry <= now; });
  while (state.tokens.size() >= WorkspaceState::kTokenLimit) {
    state.tokens.erase(state.tokens.begin());
  }
}

}  // namespace

std::optional<std::vector<std::string>> GrantableScopes(
    const std::optional<std::string>& scope_parameter,
    const std::optional<std::vector<std::string>>& allowed, std::string& error) {
  std::vector<std::string> scopes =
      SplitScopes(scope_parameter ? std::string_view(*scope_parameter) : kDefaultScope);
  if (scopes.empty()) {
    error = "Empty scope";
    return std::nullopt;
  }
  for (const std::string& scope : scopes) {
    if (!ParseScope(scope) || (allowed && !ClientMayRequest(*allowed, scope))) {
      error = "Invalid scope: " + scope;
      return std::nullopt;
    }
  }
  return scopes;
}

std::string JoinScopes(const std::vector<std::string>& scopes) {
  std::string joined;
  for (const std::string& scope : scopes)
    joined += (joined.empty() ? "" : " ") + scope;
  return joined;
}

FakeReply IssueToken(const std::string& principal, std::vector<std::string> scopes,
                     WorkspaceState& state) {
  const std::string granted = JoinScopes(scopes);
  const auto now = Clock::now();
  PruneTokens(state, now);
  std::string token =
      MintAccessToken(principal, granted, now, state.token_lifetime, state.base_url + "/oidc");
  state.tokens[token] = TokenRecord{principal, std::move(scopes), now + state.token_lifetime};
  ++state.counters.token_grants[principal];

  FakeReply reply = JsonReply(200, {{"access_token", std::move(token)},
                                    {"token_type", "Bearer"},
                                    {"expires_in", state.token_lifetime.count()},
                                    {"scope", granted}});
  reply.headers.emplace_back("Cache-Control", "no-store");
  reply.headers.emplace_back("Pragma", "no-cache");
  return reply;
}

}  // namespace dbproxy::fake
