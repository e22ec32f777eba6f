// OAuth token federation in dbproxy-fake-workspace: federation policies on the control channel
// and the RFC 8693 token-exchange grant. Subject tokens are signed here, with keys made for each
// run on OpenSSL directly (no key material in the tree), so the fake's verifier is checked against
// an independent signer.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "tests/fake_workspace/encoding.hpp"
#include "tests/fake_workspace/test_support.hpp"

namespace dbproxy::fake::testing {
namespace {

constexpr const char* kFederationClients =
    "svc s3cret\n"
    "narrow narrow-secret clusters:read\n";
const std::string kIssuer = "https://issuer.example/oidc";
const std::string kSubject = "repo:example/app:environment:prod";
const std::string kFederationFormType = "Content-Type: application/x-www-form-urlencoded";
const std::string kJwtType = "urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt";

struct SigningKey {
  std::string kid = {};
  std::string alg = {};  // "ES256" or "RS256"
  std::shared_ptr<EVP_PKEY> key = nullptr;
};

SigningKey NewKey(const std::string& kid, const std::string& alg, int rsa_bits = 2048) {
  EVP_PKEY* raw =
      alg == "ES256" ? EVP_EC_gen("P-256") : EVP_RSA_gen(static_cast<unsigned int>(rsa_bits));
  if (raw == nullptr) throw std::runtime_error("key generation failed");
  return SigningKey{.kid = kid, .alg = alg, .key = std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free)};
}

// Keys are slow to make (RSA) and never change: one of each per test run.
const SigningKey& EsKey() {
  static const SigningKey key = NewKey("es-1", "ES256");
  return key;
}
const SigningKey& RsKey() {
  static const SigningKey key = NewKey("rs-1", "RS256");
  return key;
}

// A big-endian key parameter, left-padded to `size` bytes (0: its natural length).
std::string KeyParameter(const SigningKey& key, const char* name, int size = 0) {
  BIGNUM* value = nullptr;
  if (EVP_PKEY_get_bn_param(key.key.get(), name, &value) != 1) throw std::runtime_error(name);
  const std::unique_ptr<BIGNUM, decltype(&BN_free)> owned(value, &BN_free);
  std::string out(static_cast<std::size_t>(size > 0 ? size : BN_num_bytes(value)), '\0');
  BN_bn2binpad(value, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  return out;
}

nlohmann::json PublicJwk(const SigningKey& key) {
  if (key.alg == "RS256") {
    return {{"kty", "RSA"},
            {"kid", key.kid},
            {"alg", "RS256"},
            {"use", "sig"},
            {"n", Base64UrlEncode(KeyParameter(key, OSSL_PKEY_PARAM_RSA_N))},
            {"e", Base64UrlEncode(KeyParameter(key, OSSL_PKEY_PARAM_RSA_E))}};
  }
  return {{"kty", "EC"},
          {"crv", "P-256"},
          {"kid", key.kid},
          {"x", Base64UrlEncode(KeyParameter(key, OSSL_PKEY_PARAM_EC_PUB_X, 32))},
          {"y", Base64UrlEncode(KeyParameter(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
}

std::string JwksJson(const std::vector<const SigningKey*>& keys) {
  nlohmann::json jwks = {{"keys", nlohmann::json::array()}};
  for (const SigningKey* key : keys)
    jwks["keys"].push_back(PublicJwk(*key));
  return jwks.dump();
}

// RS256 or ES256 over `input`; ES256 turned from OpenSSL's DER into JWS's r || s.
std::string Sign(const SigningKey& key, const std::string& input) {
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                        &EVP_MD_CTX_free);
  std::size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key.key.get()) != 1 ||
      EVP_DigestSign(context.get(), nullptr, &length, data, input.size()) != 1) {
    throw std::runtime_error("signing failed");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     data, input.size()) != 1) {
    throw std::runtime_error("signing failed");
  }
  signature.resize(length);
  if (key.alg == "RS256") return signature;
  const auto* cursor = reinterpret_cast<const unsigned char*>(signature.data());
  const std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> parsed(
      d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(length)), &ECDSA_SIG_free);
  std::string raw(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  BN_bn2binpad(ECDSA_SIG_get0_r(parsed.get()), out, 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(parsed.get()), out + 32, 32);
  return raw;
}

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json Claims() {
  return {{"iss", kIssuer},
          {"aud", "dbproxy"},
          {"sub", kSubject},
          {"iat", Now()},
          {"exp", Now() + 300}};
}

// A JWT of `claims` signed by `key`; `header` entries replace the default alg/typ/kid.
std::string Jwt(const SigningKey& key, const nlohmann::json& claims,
                const nlohmann::json& header = nlohmann::json::object()) {
  nlohmann::json full_header = {{"alg", key.alg}, {"typ", "JWT"}, {"kid", key.kid}};
  full_header.update(header);
  const std::string input =
      Base64UrlEncode(full_header.dump()) + "." + Base64UrlEncode(claims.dump());
  return input + "." + Base64UrlEncode(Sign(key, input));
}

std::string ExchangeForm(const std::string& jwt, const std::string& extra = "&client_id=svc") {
  return "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=" +
         jwt + "&subject_token_type=" + kJwtType + extra;
}

class FederationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    workspace_ = std::make_unique<FakeWorkspaceProcess>(kFederationClients);
    svc_policy_ = workspace_->AddFederationPolicy({{"client_id", "svc"},
                                                   {"issuer", kIssuer},
                                                   {"audiences", {"dbproxy"}},
                                                   {"subject", kSubject},
                                                   {"jwks_json", JwksJson({&EsKey(), &RsKey()})}});
  }

  HttpResponse Exchange(const std::string& form, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> headers = {kFederationFormType};
    headers.insert(headers.end(), extra.begin(), extra.end());
    return workspace_->Request("POST", "/oidc/v1/token", form, headers);
  }

  HttpResponse Api(const std::string& method, const std::string& path, const std::string& token) {
    return workspace_->Request(method, path, "{}", {"Authorization: Bearer " + token});
  }

  HttpResponse Control(const std::string& method, const std::string& path,
                       const nlohmann::json& body = nullptr) {
    return workspace_->Request(method, path, body.is_null() ? "" : body.dump(),
                               {"Content-Type: application/json"});
  }

  std::unique_ptr<FakeWorkspaceProcess> workspace_;
  std::string svc_policy_;
};

TEST_F(FederationTest, ExchangesEs256AndRs256TokensForWorkingTokens) {
  const HttpResponse es = Exchange(ExchangeForm(Jwt(EsKey(), Claims())));
  ASSERT_EQ(es.status, 200) << es.body;
  EXPECT_EQ(es.Json()["token_type"], "Bearer");
  EXPECT_EQ(es.Json()["expires_in"], 3600);
  EXPECT_EQ(es.Json()["scope"], "all-apis");
  EXPECT_EQ(es.headers.at("cache-control"), "no-store");
  const std::string token = es.Json().value("access_token", "");
  EXPECT_EQ(Api("GET", "/api/2.0/preview/scim/v2/Me", token).Json()["userName"], "svc");
  EXPECT_EQ(Api("GET", "/api/2.1/clusters/list", token).status, 200);

  const HttpResponse rs =
      Exchange(ExchangeForm(Jwt(RsKey(), Claims()), "&client_id=svc&scope=clusters%3Aread"));
  ASSERT_EQ(rs.status, 200) << rs.body;
  EXPECT_EQ(rs.Json()["scope"], "clusters:read");
  const std::string narrow = rs.Json().value("access_token", "");
  EXPECT_EQ(Api("GET", "/api/2.1/clusters/list", narrow).status, 200);
  EXPECT_EQ(Api("POST", "/api/2.1/clusters/create", narrow).status, 403);

  const nlohmann::json stats = workspace_->FederationStats();
  EXPECT_EQ(stats["attempted"], 2);
  EXPECT_EQ(stats["granted"], 2);
  EXPECT_EQ(stats["refused"], 0);
  EXPECT_EQ(
      stats["last_grant"],
      (nlohmann::json{{"client_id", "svc"}, {"subject", kSubject}, {"scope", "clusters:read"}}));
  EXPECT_TRUE(stats["last_refusal"].is_null());
  EXPECT_EQ(workspace_->Request("GET", "/_fake/counters").Json()["token_grants"]["svc"], 2);
  const auto discovery =
      workspace_->Request("GET", "/oidc/.well-known/oauth-authorization-server").Json();
  EXPECT_NE(discovery["grant_types_supported"].dump().find("token-exchange"), std::string::npos);
}

TEST_F(FederationTest, RefusesBadRequestsAndSubjectTokens) {
  workspace_->AddFederationPolicy({{"client_id", "narrow"},
                                   {"issuer", kIssuer},
                                   {"audiences", {"dbproxy"}},
                                   {"subject", kSubject},
                                   {"jwks_json", JwksJson({&EsKey()})}});
  const SigningKey stranger = NewKey(EsKey().kid, "ES256");  // same kid, other key
  const SigningKey rsa_stranger = NewKey(RsKey().kid, "RS256");
  nlohmann::json expired = Claims();
  expired["exp"] = Now() - 10;
  nlohmann::json early = Claims();
  early["nbf"] = Now() + 600;
  nlohmann::json future = Claims();
  future["iat"] = Now() + 600;
  nlohmann::json audience = Claims();
  audience["aud"] = {"other", "another"};
  nlohmann::json subject = Claims();
  subject["sub"] = "repo:example/app:environment:dev";
  nlohmann::json issuer = Claims();
  issuer["iss"] = "https://elsewhere.example";
  const std::string unsigned_jwt = Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." +
                                   Base64UrlEncode(Claims().dump()) + ".";
  const std::string valid = Jwt(EsKey(), Claims());
  const std::string wrong_type =
      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&client_id=svc"
      "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token&subject_token=" +
      valid;
  const struct {
    std::string name;
    std::string form;
    std::string error;        // 401 for invalid_client, else 400
    std::string description;  // a part of error_description
  } kCases[] = {
      {"wrong audience", ExchangeForm(Jwt(EsKey(), audience)), "invalid_grant",
       "audience does not match"},
      {"wrong subject", ExchangeForm(Jwt(RsKey(), subject)), "invalid_grant",
       "subject 'repo:example/app:environment:dev' does not match"},
      {"wrong issuer", ExchangeForm(Jwt(EsKey(), issuer)), "invalid_grant",
       "No federation policy of client 'svc' trusts issuer 'https://elsewhere.example'"},
      {"expired", ExchangeForm(Jwt(EsKey(), expired)), "invalid_grant", "has expired"},
      {"not yet valid", ExchangeForm(Jwt(EsKey(), early)), "invalid_grant", "not valid yet"},
      {"future iat", ExchangeForm(Jwt(EsKey(), future)), "invalid_grant", "in the future"},
      {"alg none", ExchangeForm(unsigned_jwt), "invalid_grant", "algorithm \"none\""},
      {"alg HS256", ExchangeForm(Jwt(EsKey(), Claims(), {{"alg", "HS256"}})), "invalid_grant",
       "algorithm \"HS256\""},
      {"bad signature", ExchangeForm(Jwt(stranger, Claims())), "invalid_grant",
       "signature is invalid"},
      {"bad RS256 signature", ExchangeForm(Jwt(rsa_stranger, Claims())), "invalid_grant",
       "signature is invalid"},
      {"unknown kid", ExchangeForm(Jwt(EsKey(), Claims(), {{"kid", "nope"}})), "invalid_grant",
       "No key with kid 'nope'"},
      {"RSA key for ES256", ExchangeForm(Jwt(EsKey(), Claims(), {{"kid", RsKey().kid}})),
       "invalid_grant", "is not an ES256 key"},
      {"wrong token type", wrong_type, "invalid_request", "Unsupported subject_token_type"},
      {"no subject_token", ExchangeForm(""), "invalid_request", "Missing subject_token"},
      {"not a JWT", ExchangeForm("not-a-jwt"), "invalid_request", "not a JWT"},
      {"unknown client", ExchangeForm(valid, "&client_id=nobody"), "invalid_client",
       "Client authentication failed"},
      {"secret sent", ExchangeForm(valid, "&client_id=svc&client_secret=s3cret"), "invalid_request",
       "Client authentication is not used"},
      {"scope beyond the client's", ExchangeForm(valid, "&client_id=narrow&scope=jobs"),
       "invalid_scope", "Invalid scope: jobs"},
  };
  for (const auto& test : kCases) {
    const HttpResponse response = Exchange(test.form);
    EXPECT_EQ(response.status, test.error == "invalid_client" ? 401 : 400)
        << test.name << ": " << response.body;
    EXPECT_EQ(response.Json()["error"], test.error) << test.name << ": " << response.body;
    EXPECT_NE(response.Json().value("error_description", "").find(test.description),
              std::string::npos)
        << test.name << ": " << response.body;
  }
  const HttpResponse basic =
      Exchange(ExchangeForm(valid), {"Authorization: Basic " + Base64("svc:s3cret")});
  EXPECT_EQ(basic.status, 400);
  EXPECT_EQ(basic.Json()["error"], "invalid_request") << basic.body;

  const nlohmann::json stats = workspace_->FederationStats();
  EXPECT_EQ(stats["attempted"], std::size(kCases) + 1);
  EXPECT_EQ(stats["refused"], std::size(kCases) + 1);
  EXPECT_EQ(stats["granted"], 0);
  EXPECT_EQ(stats["last_refusal"]["error"], "invalid_request");
  EXPECT_EQ(stats["last_refusal"]["error_description"],
            "Client authentication is not used with the token-exchange grant");
}

TEST_F(FederationTest, AccountWidePolicyActsAsTheSubject) {
  workspace_->AddFederationPolicy({{"client_id", nullptr},
                                   {"issuer", kIssuer},
                                   {"audiences", {"account", "dbproxy"}},
                                   {"subject_claim", "email"},
                                   {"jwks_json", JwksJson({&RsKey()})}});
  nlohmann::json claims = Claims();
  claims["aud"] = {"unrelated", "account"};
  claims["email"] = "alice@example.com";
  const HttpResponse granted = Exchange(ExchangeForm(Jwt(RsKey(), claims), "&scope=all-apis"));
  ASSERT_EQ(granted.status, 200) << granted.body;
  const std::string token = granted.Json().value("access_token", "");
  EXPECT_EQ(Api("GET", "/api/2.0/preview/scim/v2/Me", token).Json()["userName"],
            "alice@example.com");
  EXPECT_TRUE(workspace_->FederationStats()["last_grant"]["client_id"].is_null());
  EXPECT_EQ(workspace_->FederationStats()["last_grant"]["subject"], "alice@example.com");

  claims.erase("email");
  const HttpResponse no_claim = Exchange(ExchangeForm(Jwt(RsKey(), claims), ""));
  EXPECT_EQ(no_claim.status, 400);
  EXPECT_EQ(no_claim.Json()["error_description"], "Subject token has no string 'email' claim");
  claims["iss"] = "https://elsewhere.example";
  EXPECT_EQ(Exchange(ExchangeForm(Jwt(RsKey(), claims), "")).Json()["error_description"],
            "No account federation policy trusts issuer 'https://elsewhere.example'");
}

TEST_F(FederationTest, TrustsTheFakeIdpKeysWithoutInlineJwks) {
  const std::string idp = workspace_->url() + "/idp";
  workspace_->AddFederationPolicy(
      {{"client_id", "svc"}, {"issuer", idp}, {"audiences", {"dbproxy"}}, {"subject", "wl-1"}});
  const auto mint = [&] {
    return Control("POST", "/_fake/idp/token", {{"sub", "wl-1"}, {"aud", "dbproxy"}})
        .Json()
        .value("token", "");
  };
  const std::string before_rotation = mint();
  EXPECT_EQ(Exchange(ExchangeForm(before_rotation)).status, 200);
  ASSERT_EQ(Control("POST", "/_fake/idp/rotate").status, 200);
  EXPECT_EQ(Exchange(ExchangeForm(before_rotation)).status, 200) << "the old key stays published";
  EXPECT_EQ(Exchange(ExchangeForm(mint())).status, 200);
  ASSERT_EQ(Control("POST", "/_fake/idp/jwks", {{"down", true}}).status, 200);
  const HttpResponse down = Exchange(ExchangeForm(mint()));
  EXPECT_EQ(down.Json()["error"], "invalid_grant");
  EXPECT_EQ(down.Json()["error_description"], "The issuer's keys are not available");
}

TEST_F(FederationTest, ManagesPoliciesThroughTheControlChannel) {
  const SigningKey weak = NewKey("weak", "RS256", 1024);
  const SigningKey twin = NewKey(EsKey().kid, "ES256");
  nlohmann::json private_jwk = PublicJwk(EsKey());
  private_jwk["d"] = Base64UrlEncode(std::string(32, '\x01'));
  const nlohmann::json good = {{"client_id", "svc"},
                               {"issuer", kIssuer},
                               {"audiences", {"dbproxy"}},
                               {"subject", kSubject},
                               {"jwks_json", JwksJson({&EsKey()})}};
  const auto with = [&good](const std::string& key, const nlohmann::json& value) {
    nlohmann::json body = good;
    body[key] = value;
    return body;
  };
  const auto without = [&good](const std::string& key) {
    nlohmann::json body = good;
    body.erase(key);
    return body;
  };
  const nlohmann::json kBad[] = {
      with("color", "blue"),
      without("issuer"),
      with("issuer", "http://issuer.example"),
      with("audiences", nlohmann::json::array()),
      with("audiences", "dbproxy"),
      without("subject"),
      with("subject", ""),
      with("client_id", "nobody"),
      with("jwks_json", "{\"keys\":[]}"),
      with("jwks_json", "not json"),
      with("jwks_json", JwksJson({&weak})),
      with("jwks_json", JwksJson({&EsKey(), &twin})),
      with("jwks_json", nlohmann::json({{"keys", {private_jwk}}}).dump()),
      without("jwks_json"),
  };
  for (const nlohmann::json& body : kBad) {
    const HttpResponse refused = Control("POST", "/_fake/federation/policies", body);
    EXPECT_EQ(refused.status, 400) << body.dump();
    EXPECT_TRUE(refused.Json()["error"].is_string()) << refused.body;
  }

  const auto policies = Control("GET", "/_fake/federation/policies").Json()["policies"];
  ASSERT_EQ(policies.size(), 1U);
  EXPECT_EQ(policies[0]["id"], svc_policy_);
  EXPECT_EQ(policies[0]["subject_claim"], "sub");
  EXPECT_EQ(policies[0]["audiences"], nlohmann::json({"dbproxy"}));

  const std::string jwt = Jwt(EsKey(), Claims());
  EXPECT_EQ(Exchange(ExchangeForm(jwt)).status, 200);
  EXPECT_EQ(Control("DELETE", "/_fake/federation/policies/" + svc_policy_).status, 200);
  EXPECT_EQ(Control("DELETE", "/_fake/federation/policies/" + svc_policy_).status, 404);
  EXPECT_TRUE(Control("GET", "/_fake/federation/policies").Json()["policies"].empty());
  EXPECT_EQ(Exchange(ExchangeForm(jwt)).Json()["error"], "invalid_grant");

  EXPECT_EQ(workspace_->FederationStats()["attempted"], 2);
  ASSERT_EQ(Control("POST", "/_fake/reset").status, 200);
  EXPECT_EQ(workspace_->FederationStats()["attempted"], 0);
  EXPECT_THROW(workspace_->AddFederationPolicy(without("issuer")), std::runtime_error);
}

}  // namespace
}  // namespace dbproxy::fake::testing
