// The agent's signing keys and SignJwt (common/identity/jwt_signing.hpp).
#include "common/identity/jwt_signing.hpp"

#include <gtest/gtest.h>

#include <string>

#include <openssl/pem.h>

#include "common/identity/jwt.hpp"
#include "tests/common/identity/test_keys.hpp"

namespace dbproxy {
namespace {

using jwt_testing::Keys;
using nlohmann::json;

constexpr std::int64_t kSigningNow = 1'800'000'000;

const JwtPolicy kPolicy{.issuer = "https://agent.example",
                        .audiences = {"databricks"},
                        .algorithms = {"ES256", "RS256"},
                        .clock_skew_seconds = 60};

json Claims() {
  return {{"iss", "https://agent.example"},
          {"sub", "billing-etl"},
          {"aud", "databricks"},
          {"exp", kSigningNow + 300},
          {"iat", kSigningNow}};
}

// The PEM OpenSSL writes for `key` (PKCS#8, optionally encrypted), for FromPem's refusals.
SecretBytes PemOf(EVP_PKEY* key, bool encrypted = false) {
  BIO* bio = BIO_new(BIO_s_mem());
  char password[] = "pw";
  const int ok = encrypted
                     ? PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(), nullptr, 0,
                                                     nullptr, password)
                     : PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  EXPECT_EQ(ok, 1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  SecretBytes pem = SecretBytes::CopyFrom(std::string_view(data, static_cast<std::size_t>(size)));
  BIO_free(bio);
  return pem;
}

JwtVerification VerifyWith(const JwtSigningKey& key, std::string_view token) {
  Result<Jwks> jwks = ParseJwks(json{{"keys", {key.PublishedJwk()}}}.dump());
  EXPECT_TRUE(jwks.has_value() && jwks->keys.size() == 1);
  Result<ParsedJwt> parsed = ParseJwt(token);
  if (!parsed) return JwtError{.code = JwtErrc::kMalformed, .reason = parsed.error().message};
  return VerifyJwt(*parsed, *jwks, kPolicy, kSigningNow);
}

class JwtSigningTest : public ::testing::TestWithParam<const char*> {};

TEST_P(JwtSigningTest, GeneratedKeySignsTokensItsPublishedJwkVerifies) {
  Result<JwtSigningKey> key = JwtSigningKey::Generate(GetParam());
  ASSERT_TRUE(key.has_value()) << key.error().message;
  EXPECT_EQ(JwsAlgName(key->alg()), GetParam());
  EXPECT_EQ(key->kid(), *JwkThumbprint(key->pkey()));

  const json published = key->PublishedJwk();
  EXPECT_EQ(published["kid"], key->kid());
  EXPECT_EQ(published["alg"], GetParam());
  EXPECT_EQ(published["use"], "sig");
  EXPECT_FALSE(published.contains("d"));

  Result<SecretBytes> token = SignJwt(json(nullptr), Claims(), *key);
  ASSERT_TRUE(token.has_value()) << token.error().message;
  const JwtVerification verified = VerifyWith(*key, token->view());
  ASSERT_TRUE(verified.has_value()) << verified.error().reason;
  EXPECT_EQ(verified->subject, "billing-etl");

  Result<ParsedJwt> parsed = ParseJwt(token->view());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->header.alg, GetParam());
  EXPECT_EQ(parsed->header.kid, key->kid());
  EXPECT_EQ(parsed->header.typ, "JWT");
}

TEST_P(JwtSigningTest, PemRoundTripKeepsTheKey) {
  Result<JwtSigningKey> key = JwtSigningKey::Generate(GetParam());
  ASSERT_TRUE(key.has_value());
  Result<SecretBytes> pem = key->ToPem();
  ASSERT_TRUE(pem.has_value());
  // Unencrypted PKCS#8: exactly one PEM block, labelled PRIVATE KEY, and nothing after it.
  BIO* bio = BIO_new_mem_buf(pem->view().data(), static_cast<int>(pem->view().size()));
  char* label = nullptr;
  char* headers = nullptr;
  unsigned char* der = nullptr;
  long der_length = 0;
  EXPECT_EQ(PEM_read_bio(bio, &label, &headers, &der, &der_length), 1);
  EXPECT_STREQ(label, "PRIVATE KEY");
  EXPECT_STREQ(headers, "");
  EXPECT_EQ(BIO_pending(bio), 0);
  OPENSSL_free(label);
  OPENSSL_free(headers);
  OPENSSL_clear_free(der, static_cast<std::size_t>(der_length));
  BIO_free(bio);

  Result<JwtSigningKey> again = JwtSigningKey::FromPem(*pem);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again->kid(), key->kid());
  EXPECT_EQ(again->alg(), key->alg());
  Result<SecretBytes> token = SignJwt(json::object(), Claims(), *again);
  ASSERT_TRUE(token.has_value());
  EXPECT_TRUE(VerifyWith(*key, token->view()).has_value());
}

INSTANTIATE_TEST_SUITE_P(Jwt, JwtSigningTest, ::testing::Values("ES256", "RS256"));

TEST(JwtSigningKeyTest, GenerateRefusesOtherAlgorithms) {
  for (const char* alg : {"HS256", "none", "ES384", "PS256", "EdDSA", ""}) {
    Result<JwtSigningKey> key = JwtSigningKey::Generate(alg);
    ASSERT_FALSE(key.has_value()) << alg;
    EXPECT_EQ(key.error().code, Errc::kInvalidRequest);
  }
}

TEST(JwtSigningKeyTest, FromPemAcceptsOnlyTheFormToPemWrites) {
  Result<JwtSigningKey> key = JwtSigningKey::Generate("ES256");
  ASSERT_TRUE(key.has_value());
  const std::string pem(key->ToPem()->view());
  const std::string body = pem.substr(28, 40);  // base64 of key material
  const std::vector<SecretBytes> refused = [&] {
    std::vector<SecretBytes> list;
    list.push_back(SecretBytes());
    list.push_back(SecretBytes::CopyFrom("not a key"));
    list.push_back(SecretBytes::CopyFrom(pem + "\n"));
    list.push_back(SecretBytes::CopyFrom(pem.substr(0, pem.size() - 1)));
    list.push_back(SecretBytes::CopyFrom("junk\n" + pem));
    list.push_back(PemOf(Keys().p256.get(), /*encrypted=*/true));
    list.push_back(PemOf(Keys().p384.get()));
    list.push_back(PemOf(Keys().ed25519.get()));
    list.push_back(SecretBytes::CopyFrom(std::string(20000, 'a')));
    return list;
  }();
  for (const SecretBytes& text : refused) {
    Result<JwtSigningKey> parsed = JwtSigningKey::FromPem(text);
    ASSERT_FALSE(parsed.has_value()) << text.view().substr(0, 40);
    EXPECT_EQ(parsed.error().code, Errc::kInvalidRequest);
    EXPECT_EQ(parsed.error().message.rfind("invalid signing key: ", 0), 0u);
    EXPECT_EQ(parsed.error().message.find(body), std::string::npos);
    EXPECT_EQ(parsed.error().log_detail, "");
  }
  // Written by OpenSSL in the same form: accepted (P-256 and RSA 2048).
  EXPECT_TRUE(JwtSigningKey::FromPem(PemOf(Keys().p256.get())).has_value());
  Result<JwtSigningKey> rsa = JwtSigningKey::FromPem(PemOf(Keys().rsa.get()));
  ASSERT_TRUE(rsa.has_value());
  EXPECT_EQ(rsa->alg(), JwsAlg::kRs256);
}

TEST(JwtSigningKeyTest, SignJwtHeaderExtras) {
  Result<JwtSigningKey> key = JwtSigningKey::Generate("ES256");
  ASSERT_TRUE(key.has_value());
  Result<SecretBytes> token = SignJwt({{"typ", "dpop+jwt"}, {"x-extra", 1}}, Claims(), *key);
  ASSERT_TRUE(token.has_value());
  Result<ParsedJwt> parsed = ParseJwt(token->view());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->header.typ, "dpop+jwt");

  for (const json& extra : {json{{"alg", "none"}}, json{{"kid", "other"}}, json{{"crit", {"b64"}}},
                            json::array(), json("text")}) {
    Result<SecretBytes> refused = SignJwt(extra, Claims(), *key);
    ASSERT_FALSE(refused.has_value()) << extra.dump();
    EXPECT_EQ(refused.error().code, Errc::kInvalidRequest);
  }
  EXPECT_FALSE(SignJwt(json(nullptr), json::array(), *key).has_value());
  json bad_utf8 = Claims();
  bad_utf8["sub"] = std::string("\xff\xfe");
  Result<SecretBytes> refused = SignJwt(json(nullptr), bad_utf8, *key);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::kInvalidRequest);
}

}  // namespace
}  // namespace dbproxy
