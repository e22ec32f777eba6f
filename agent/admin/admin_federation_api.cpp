#include "agent/admin/admin_federation_api.hpp"

#include "agent/blocking.hpp"
#include "agent/clock.hpp"
#include "agent/server/responses.hpp"

namespace dbproxy {
namespace {

constexpr std::int64_t kRetentionSkewSeconds = 60;

// The keys a verifier must accept now, creating the first one when there is none.
Result<std::vector<PublishedSigningKey>> CurrentKeys(AgentState& state, bool create) {
  const std::int64_t now = NowUnix();
  if (create) {
    Result<SigningKeyCopy> in_use =
        state.store->SigningKeyInUse(state.config.federation.algorithm, now);
    if (!in_use) return std::move(in_use).error();
  }
  return state.store->PublishedSigningKeys(now, SigningKeyRetention(state.config.federation));
}

nlohmann::json JwksDocument(const std::vector<PublishedSigningKey>& keys) {
  nlohmann::json list = nlohmann::json::array();
  for (const PublishedSigningKey& key : keys)
    list.push_back(key.jwk);
  return {{"keys", std::move(list)}};
}

nlohmann::json Summary(const AgentState& state, const std::vector<PublishedSigningKey>& keys) {
  nlohmann::json list = nlohmann::json::array();
  for (const PublishedSigningKey& key : keys) {
    list.push_back({{"kid", key.kid},
                    {"alg", key.alg},
                    {"created_at", key.created_at},
                    {"retired_at", key.retired_at},
                    {"in_use", key.retired_at == 0}});
  }
  const FederationSection& federation = state.config.federation;
  return {{"issuer", federation.issuer},
          {"algorithm", federation.algorithm},
          {"assertion_lifetime_seconds", federation.assertion_lifetime_seconds},
          {"keys", std::move(list)}};
}

}  // namespace

std::int64_t SigningKeyRetention(const FederationSection& federation) {
  return federation.assertion_lifetime_seconds + kRetentionSkewSeconds;
}

asio::awaitable<std::optional<HttpResponse>> HandleFederationAdmin(
    AgentState& state, const HttpRequest& request, const RequestContext& context,
    const std::vector<std::string>& path, AuditRecord& audit) {
  if (path.size() < 2 || path.size() > 3 || path[0] != "v1" || path[1] != "federation") {
    co_return std::nullopt;
  }
  const std::string_view leaf = path.size() == 3 ? std::string_view(path[2]) : "";
  if (leaf == "jwks" || leaf.empty()) {
    audit.action = leaf.empty() ? "admin.federation.status" : "admin.federation.jwks";
    if (request.method() != http::verb::get) {
      co_return ErrorResponse(MakeError(Errc::kMethodNotAllowed, "use GET"), context);
    }
    const bool create = !leaf.empty();
    Result<std::vector<PublishedSigningKey>> keys =
        co_await RunBlocking(*state.pool, [&] { return CurrentKeys(state, create); });
    if (!keys) co_return ErrorResponse(keys.error(), context);
    co_return JsonResponse(http::status::ok, create ? JwksDocument(*keys) : Summary(state, *keys));
  }
  if (leaf == "rotate") {
    audit.action = "admin.federation.rotate";
    if (request.method() != http::verb::post) {
      co_return ErrorResponse(MakeError(Errc::kMethodNotAllowed, "use POST"), context);
    }
    Result<std::vector<PublishedSigningKey>> before =
        co_await RunBlocking(*state.pool, [&] { return CurrentKeys(state, false); });
    if (!before) co_return ErrorResponse(before.error(), context);
    std::string previous;
    for (const PublishedSigningKey& key : *before) {
      if (key.retired_at == 0) previous = key.kid;
    }
    Result<std::string> kid = co_await RunBlocking(*state.pool, [&] {
      return state.store->RotateSigningKey(state.config.federation.algorithm, NowUnix(),
                                           SigningKeyRetention(state.config.federation));
    });
    if (!kid) co_return ErrorResponse(kid.error(), context);
    audit.detail.emplace_back("kid", *kid);
    // Cached tokens stay valid (Databricks does not tie them to the key); new exchanges use the
    // new key, so the federation policy's jwks_json must list it (dbproxyctl federation jwks).
    co_return JsonResponse(http::status::ok, {{"kid", *kid}, {"previous", previous}});
  }
  co_return std::nullopt;
}

}  // namespace dbproxy
