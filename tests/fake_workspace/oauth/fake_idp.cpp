#include "tests/fake_workspace/oauth/fake_idp.hpp"

#include <chrono>
#include <span>
#include <string>
#include <vector>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>

#include "tests/fake_workspace/encoding.hpp"

namespace dbproxy::fake {
namespace {

constexpr std::size_t kCoordinateBytes = 32;  // P-256

IdpKey NewKey(IdpState& idp) {
  EVP_PKEY* raw = EVP_EC_gen("P-256");
  return IdpKey{.kid = "fake-idp-" + std::to_string(idp.next_kid++),
                .key = std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free)};
}

IdpKey& CurrentKey(IdpState& idp) {
  if (idp.keys.empty()) idp.keys.push_back(NewKey(idp));
  return idp.keys.back();
}

// The current key and the one before it.
std::span<const IdpKey> PublishedKeys(IdpState& idp) {
  CurrentKey(idp);
  const std::size_t first = idp.keys.size() > 2 ? idp.keys.size() - 2 : 0;
  return std::span<const IdpKey>(idp.keys).subspan(first);
}

// A big-endian BIGNUM parameter of `key`, left-padded to `size` bytes.
std::string FixedBytes(const EVP_PKEY* key, const char* name, std::size_t size) {
  BIGNUM* value = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &value) != 1) return "";
  std::string out(size, '\0');
  BN_bn2binpad(value, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(size));
  BN_free(value);
  return out;
}

nlohmann::json PublicJwk(const IdpKey& key) {
  return {{"kty", "EC"},
          {"crv", "P-256"},
          {"use", "sig"},
          {"alg", "ES256"},
          {"kid", key.kid},
          {"x", Base64UrlEncode(FixedBytes(key.key.get(), OSSL_PKEY_PARAM_EC_PUB_X,
                                           kCoordinateBytes))},
          {"y", Base64UrlEncode(FixedBytes(key.key.get(), OSSL_PKEY_PARAM_EC_PUB_Y,
                                           kCoordinateBytes))}};
}

// ES256 over `input`: OpenSSL's DER signature turned into JWS's raw r || s.
std::string SignEs256(const IdpKey& key, const std::string& input) {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  std::string der(128, '\0');
  std::size_t length = der.size();
  const bool signed_ok =
      EVP_DigestSignInit(context, nullptr, EVP_sha256(), nullptr, key.key.get()) == 1 &&
      EVP_DigestSign(context, reinterpret_cast<unsigned char*>(der.data()), &length,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(context);
  if (!signed_ok) return "";
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* signature = d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(length));
  if (signature == nullptr) return "";
  std::string raw(2 * kCoordinateBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  BN_bn2binpad(ECDSA_SIG_get0_r(signature), out, kCoordinateBytes);
  BN_bn2binpad(ECDSA_SIG_get0_s(signature), out + kCoordinateBytes, kCoordinateBytes);
  ECDSA_SIG_free(signature);
  return raw;
}

// body[name] when it is an integer, else `fallback`.
std::int64_t IntOr(const nlohmann::json& body, const char* name, std::int64_t fallback) {
  const auto it = body.find(name);
  return it != body.end() && it->is_number_integer() ? it->get<std::int64_t>() : fallback;
}

FakeReply MintToken(const FakeRequest& request, WorkspaceState& state) {
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object() || !body.contains("sub") ||
      !body.contains("aud")) {
    return JsonReply(400, {{"error", "expected {\"sub\", \"aud\", ...}"}});
  }
  IdpState& idp = state.idp;
  const IdpKey* key = &CurrentKey(idp);
  if (body.contains("kid")) {
    key = nullptr;
    for (const IdpKey& candidate : idp.keys) {
      if (body["kid"] == candidate.kid) key = &candidate;
    }
    if (key == nullptr) return JsonReply(400, {{"error", "no such kid"}});
  }
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  nlohmann::json claims = body.contains("claims") && body["claims"].is_object()
                              ? body["claims"]
                              : nlohmann::json::object();
  claims["iss"] = body.value("iss", IdpIssuer(state));
  claims["sub"] = body["sub"];
  claims["aud"] = body["aud"];
  claims["iat"] = now;
  claims["exp"] = now + IntOr(body, "expires_in", 300);
  if (body.contains("not_before_in")) claims["nbf"] = now + IntOr(body, "not_before_in", 0);
  const nlohmann::json header = {{"alg", "ES256"}, {"typ", "JWT"}, {"kid", key->kid}};
  const std::string input =
      Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  const std::string signature = SignEs256(*key, input);
  if (signature.empty()) return JsonReply(500, {{"error", "signing failed"}});
  return JsonReply(200, {{"token", input + "." + Base64UrlEncode(signature)}});
}

}  // namespace

std::string IdpIssuer(const WorkspaceState& state) {
  return state.base_url + "/idp";
}

std::vector<VerificationKey> IdpPublishedKeys(WorkspaceState& state) {
  std::vector<VerificationKey> keys;
  if (state.idp.jwks_down) return keys;
  for (const IdpKey& key : PublishedKeys(state.idp)) {
    keys.push_back({.kid = key.kid, .algorithm = JwsAlgorithm::kEs256, .key = key.key});
  }
  return keys;
}

bool IsIdpPath(std::string_view path) { return path.starts_with("/idp/"); }

FakeReply HandleIdpRequest(const FakeRequest& request, WorkspaceState& state) {
  IdpState& idp = state.idp;
  if (request.method == "GET" && request.path == "/idp/.well-known/openid-configuration") {
    ++idp.discovery_fetches;
    return JsonReply(200, {{"issuer", IdpIssuer(state)},
                           {"jwks_uri", IdpIssuer(state) + "/jwks"},
                           {"id_token_signing_alg_values_supported", {"ES256"}}});
  }
  if (request.method == "GET" && request.path == "/idp/jwks") {
    ++idp.jwks_fetches;
    if (idp.jwks_down) return JsonReply(503, {{"error", "temporarily_unavailable"}});
    nlohmann::json keys = nlohmann::json::array();
    for (const IdpKey& key : PublishedKeys(idp))
      keys.push_back(PublicJwk(key));
    return JsonReply(200, {{"keys", keys}});
  }
  return JsonReply(404, {{"error", "not_found"}});
}

std::optional<FakeReply> HandleIdpControl(const FakeRequest& request, WorkspaceState& state) {
  const bool post = request.method == "POST";
  IdpState& idp = state.idp;
  if (post && request.path == "/_fake/idp/token") return MintToken(request, state);
  if (post && request.path == "/_fake/idp/rotate") {
    CurrentKey(idp);
    idp.keys.push_back(NewKey(idp));
    return JsonReply(200, {{"kid", idp.keys.back().kid}});
  }
  if (post && request.path == "/_fake/idp/jwks") {
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("down") ||
        !body["down"].is_boolean()) {
      return JsonReply(400, {{"error", "expected {\"down\": true|false}"}});
    }
    idp.jwks_down = body["down"].get<bool>();
    return JsonReply(200, {{"ok", true}});
  }
  if (request.method == "GET" && request.path == "/_fake/idp/stats") {
    return JsonReply(200, {{"jwks_fetches", idp.jwks_fetches},
                           {"discovery_fetches", idp.discovery_fetches},
                           {"kid", CurrentKey(idp).kid}});
  }
  return std::nullopt;
}

}  // namespace dbproxy::fake
