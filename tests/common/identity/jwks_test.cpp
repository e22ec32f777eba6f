// JWKS parsing and JWK export (common/identity/jwks.hpp).
#include "common/identity/jwks.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/identity/base64url.hpp"
#include "tests/common/identity/test_keys.hpp"

namespace dbproxy {
namespace {

using jwt_testing::JwksText;
using jwt_testing::Keys;
using nlohmann::json;

// RFC 7638 section 3.1 (the RSA key of RFC 7517 appendix A.1) and its thumbprint.
constexpr char kRfcN[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
    "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
    "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
constexpr char kRfcThumbprint[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

json RfcJwk() {
  return {{"kty", "RSA"}, {"n", kRfcN}, {"e", "AQAB"}, {"alg", "RS256"}, {"kid", "2011-04-29"}};
}

json JwkOf(EVP_PKEY* key) {
  return *PublicJwk(key);
}

Jwks ParseOk(const json& doc) {
  Result<Jwks> jwks = ParseJwks(doc.dump());
  EXPECT_TRUE(jwks.has_value()) << jwks.error().message;
  return jwks.has_value() ? std::move(*jwks) : Jwks{};
}

TEST(JwksTest, Rfc7638ThumbprintOfTheRfcKey) {
  const Jwks jwks = ParseOk({{"keys", {RfcJwk()}}});
  ASSERT_EQ(jwks.keys.size(), 1u);
  EXPECT_EQ(jwks.keys[0].kid, "2011-04-29");
  EXPECT_EQ(jwks.keys[0].alg, JwsAlg::kRs256);
  EXPECT_EQ(jwks.keys[0].kind, KeyKind::kRsa);
  EXPECT_EQ(*JwkThumbprint(jwks.keys[0].key.get()), kRfcThumbprint);
  EXPECT_EQ(*PublicJwk(jwks.keys[0].key.get()),
            json({{"kty", "RSA"}, {"n", kRfcN}, {"e", "AQAB"}}));
}

TEST(JwksTest, PublicJwkRoundTripsForEveryKind) {
  const struct {
    EVP_PKEY* key;
    KeyKind kind;
    const char* kty;
  } cases[] = {{Keys().rsa.get(), KeyKind::kRsa, "RSA"},
               {Keys().p256.get(), KeyKind::kEcP256, "EC"},
               {Keys().p384.get(), KeyKind::kEcP384, "EC"},
               {Keys().ed25519.get(), KeyKind::kEd25519, "OKP"}};
  for (const auto& c : cases) {
    const json jwk = JwkOf(c.key);  // from the private key: only public members
    EXPECT_EQ(jwk["kty"], c.kty);
    for (const char* secret : {"d", "p", "q", "dp", "dq", "qi"})
      EXPECT_FALSE(jwk.contains(secret));
    Result<Jwk> parsed = ParseJwk(jwk);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_EQ(parsed->kind, c.kind);
    EXPECT_EQ(*PublicJwk(parsed->key.get()), jwk);
    EXPECT_EQ(*JwkThumbprint(parsed->key.get()), *JwkThumbprint(c.key));
    EXPECT_EQ(JwkThumbprint(c.key)->size(), 43u);
  }
  EXPECT_EQ(JwkOf(Keys().p256.get())["x"].get<std::string>().size(), 43u);  // 32 bytes, padded
  EXPECT_EQ(JwkOf(Keys().p384.get())["y"].get<std::string>().size(), 64u);  // 48 bytes
}

TEST(JwksTest, MalformedKeysAreSkippedWithAReasonAndTheOthersKept) {
  json p256 = JwkOf(Keys().p256.get());
  json off_curve = p256;
  std::string y = *Base64UrlDecode(p256["y"].get<std::string>());
  y[31] = static_cast<char>(y[31] ^ 1);
  off_curve["y"] = Base64UrlEncode(y);
  json short_x = p256;
  short_x["x"] = Base64UrlEncode(std::string(31, 'x'));
  json rsa = JwkOf(Keys().rsa.get());
  const auto with = [](json jwk, const char* key, json value) {
    jwk[key] = std::move(value);
    return jwk;
  };
  const auto without = [](json jwk, const char* key) {
    jwk.erase(key);
    return jwk;
  };
  const std::string n = *Base64UrlDecode(rsa["n"].get<std::string>());

  const struct {
    json jwk;
    const char* reason;
  } cases[] = {
      {with(p256, "use", "enc"), "use is not \"sig\""},
      {with(p256, "key_ops", {"encrypt"}), "key_ops does not include \"verify\""},
      {with(rsa, "alg", "RSA-OAEP"), "alg \"RSA-OAEP\" is not an accepted signature algorithm"},
      {with(rsa, "alg", "HS256"), "not an accepted signature algorithm"},
      {with(p256, "alg", "RS256"), "alg RS256 does not fit an EC P-256 key"},
      {with(p256, "alg", "ES384"), "does not fit"},
      {{{"kty", "oct"}, {"k", "c2VjcmV0"}}, "kty \"oct\" is not supported"},
      {without(p256, "kty"), "kty is missing"},
      {off_curve, "EC point is not on the curve"},
      {short_x, "x and y must be 32 bytes for P-256"},
      {with(p256, "crv", "P-521"), "EC curve \"P-521\" is not supported"},
      {with(p256, "crv", "secp256k1"), "not supported"},
      {without(p256, "y"), "y is missing or not base64url"},
      {with(p256, "x", "AAAA="), "x is missing or not base64url"},
      {with(JwkOf(Keys().ed25519.get()), "crv", "Ed448"), "OKP curve \"Ed448\" is not supported"},
      {with(JwkOf(Keys().ed25519.get()), "crv", "X25519"), "not supported"},
      {with(JwkOf(Keys().ed25519.get()), "x", "AAAA"), "x must be 32 bytes for Ed25519"},
      {with(rsa, "n", Base64UrlEncode(n.substr(0, 128))), "RSA modulus has"},
      {with(rsa, "n", Base64UrlEncode(n.substr(0, 255))), "odd"},  // even, or 2040 bits
      {with(rsa, "n", Base64UrlEncode(n + n + n + n + n)), "too long"},
      {with(rsa, "e", "AQ"), "RSA exponent must be odd"},       // e = 1
      {with(rsa, "e", "AQAA"), "RSA exponent must be odd"},     // even
      {with(rsa, "e", "AQAAAAE"), "RSA exponent must be odd"},  // 2^32 + 1
      {with(rsa, "e", 65537), "e is missing or not base64url"},
      {with(p256, "kid", 7), "kid is not a string"},
      {with(p256, "kid", std::string(257, 'k')), "kid is longer than 256 bytes"},
      {json::array(), "not a JSON object"},
  };
  json doc = {{"keys", json::array()}};
  doc["keys"].push_back(with(JwkOf(Keys().ed25519.get()), "kid", "good-1"));
  for (const auto& c : cases) {
    const bool add_kid = c.jwk.is_object() && !c.jwk.contains("kid");
    doc["keys"].push_back(add_kid ? with(c.jwk, "kid", "bad") : c.jwk);
  }
  doc["keys"].push_back(with(p256, "kid", "good-2"));

  const Jwks jwks = ParseOk(doc);
  ASSERT_EQ(jwks.keys.size(), 2u);
  EXPECT_EQ(jwks.keys[0].kid, "good-1");
  EXPECT_EQ(jwks.keys[1].kid, "good-2");
  ASSERT_EQ(jwks.skipped.size(), std::size(cases));
  for (std::size_t i = 0; i < std::size(cases); ++i) {
    EXPECT_EQ(jwks.skipped[i].index, i + 1);
    EXPECT_NE(jwks.skipped[i].reason.find(cases[i].reason), std::string::npos)
        << "case " << i << ": " << jwks.skipped[i].reason;
  }
  EXPECT_EQ(jwks.skipped[0].kid, "bad");
}

TEST(JwksTest, SigUseAndVerifyKeyOpsAreAccepted) {
  json jwk = JwkOf(Keys().p256.get());
  jwk["use"] = "sig";
  jwk["key_ops"] = {"sign", "verify"};
  jwk["x5c"] = {"ignored"};
  jwk["alg"] = "ES256";
  EXPECT_EQ(ParseOk({{"keys", {jwk}}}).keys.size(), 1u);
}

TEST(JwksTest, RsaModulusWithLeadingZeroIsTheSameKey) {
  json jwk = JwkOf(Keys().rsa.get());
  jwk["n"] = Base64UrlEncode(std::string(1, '\0') + *Base64UrlDecode(jwk["n"].get<std::string>()));
  const Jwks jwks = ParseOk({{"keys", {jwk}}});
  ASSERT_EQ(jwks.keys.size(), 1u);
  EXPECT_EQ(*JwkThumbprint(jwks.keys[0].key.get()), *JwkThumbprint(Keys().rsa.get()));
}

TEST(JwksTest, RepeatedKidOfTheSameKindKeepsTheFirst) {
  json doc = json::parse(
      JwksText({{"k", Keys().rsa.get()}, {"k", Keys().rsa2.get()}, {"k", Keys().p256.get()}}));
  const Jwks jwks = ParseOk(doc);
  ASSERT_EQ(jwks.keys.size(), 2u);
  EXPECT_EQ(*JwkThumbprint(jwks.keys[0].key.get()), *JwkThumbprint(Keys().rsa.get()));
  EXPECT_EQ(jwks.keys[1].kind, KeyKind::kEcP256);
  ASSERT_EQ(jwks.skipped.size(), 1u);
  EXPECT_EQ(jwks.skipped[0].index, 1u);
  EXPECT_EQ(jwks.skipped[0].reason, "an earlier RSA key has the same kid");
}

TEST(JwksTest, DocumentErrors) {
  const std::string big_key = R"({"kty":"oct","k":")" + std::string(kMaxJwksBytes, 'a') + "\"}";
  json many = {{"keys", json::array()}};
  for (std::size_t i = 0; i <= kMaxJwksKeys; ++i)
    many["keys"].push_back(json::object());
  const std::vector<std::string> documents = {
      "",
      "not json",
      "[]",
      R"({"keys":{}})",
      R"({"key":[]})",
      R"({"keys":[],"keys":[]})",
      R"({"keys":[{"kid":"a","kid":"b"}]})",
      R"({"keys":[]})"
      "x",
      R"({"keys":[)" + big_key + "]}",
      many.dump(),
  };
  for (const std::string& document : documents) {
    Result<Jwks> jwks = ParseJwks(document);
    ASSERT_FALSE(jwks.has_value()) << document.substr(0, 80);
    EXPECT_EQ(jwks.error().code, Errc::kUpstreamError);
    EXPECT_EQ(jwks.error().message.rfind("JWKS: ", 0), 0u) << jwks.error().message;
  }
  EXPECT_TRUE(ParseOk({{"keys", json::array()}}).keys.empty());
}

TEST(JwksTest, DisplayKidHidesUnprintableOrLongKids) {
  EXPECT_EQ(DisplayKid("2011-04-29"), "2011-04-29");
  EXPECT_EQ(DisplayKid("a\nb"), "(unprintable kid)");
  EXPECT_EQ(DisplayKid(std::string(65, 'k')), "(unprintable kid)");
}

TEST(JwksTest, PublicJwkRefusesOtherKeys) {
  EvpPkeyPtr x25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  Result<json> jwk = PublicJwk(x25519.get());
  ASSERT_FALSE(jwk.has_value());
  EXPECT_EQ(jwk.error().code, Errc::kInvalidRequest);
  EXPECT_FALSE(PublicJwk(nullptr).has_value());
}

}  // namespace
}  // namespace dbproxy
