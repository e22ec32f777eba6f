// Token parsing and verification (common/identity/jwt.hpp). Tokens are signed by the test's own
// OpenSSL signer (test_keys.hpp), not by the code under test.
#include "common/identity/jwt.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "common/identity/base64url.hpp"
#include "tests/common/identity/test_keys.hpp"

namespace dbproxy {
namespace {

using jwt_testing::JwksText;
using jwt_testing::Keys;
using jwt_testing::MakeToken;
using jwt_testing::Segment;
using nlohmann::json;

constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::int64_t kSkew = 60;
constexpr char kIssuer[] = "https://idp.example.com";

class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<Jwks> parsed = ParseJwks(JwksText({{"rsa", Keys().rsa.get()},
                                              {"p256", Keys().p256.get()},
                                              {"p384", Keys().p384.get()},
                                              {"ed", Keys().ed25519.get()}}));
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    jwks_ = new Jwks(std::move(*parsed));
  }
  static void TearDownTestSuite() {
    delete jwks_;
    jwks_ = nullptr;
  }

  static JwtPolicy AllAlgorithms() {
    return JwtPolicy{.issuer = kIssuer,
                     .audiences = {"dbproxy", "other"},
                     .algorithms = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
                                    "ES384", "EdDSA"},
                     .clock_skew_seconds = kSkew};
  }

  static json Claims() {
    return {{"iss", kIssuer},    {"sub", "svc-1"},   {"aud", "dbproxy"},
            {"exp", kNow + 300}, {"iat", kNow - 10}, {"nbf", kNow - 10}};
  }

  static std::string Es256(const json& claims, const std::string& kid = "p256") {
    return MakeToken({{"kid", kid}}, claims, "ES256", Keys().p256.get());
  }

  // Parse + verify; a parse failure comes back as kMalformed with the parser's message.
  static JwtVerification Verify(std::string_view token, const JwtPolicy& policy = AllAlgorithms(),
                                const Jwks* jwks = nullptr) {
    Result<ParsedJwt> parsed = ParseJwt(token);
    if (!parsed) return JwtError{.code = JwtErrc::kMalformed, .reason = parsed.error().message};
    return VerifyJwt(*parsed, jwks ? *jwks : *jwks_, policy, kNow);
  }

  static void ExpectRefused(const JwtVerification& result, JwtErrc code,
                            const std::string& reason_part = "") {
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, code) << result.error().reason;
    EXPECT_NE(result.error().reason.find(reason_part), std::string::npos) << result.error().reason;
  }

  static Jwks* jwks_;
};

Jwks* JwtTest::jwks_ = nullptr;

TEST_F(JwtTest, EachAllowedAlgorithmVerifies) {
  const struct {
    const char* alg;
    const char* kid;
    EVP_PKEY* key;
  } cases[] = {
      {"RS256", "rsa", Keys().rsa.get()},    {"RS384", "rsa", Keys().rsa.get()},
      {"RS512", "rsa", Keys().rsa.get()},    {"PS256", "rsa", Keys().rsa.get()},
      {"PS384", "rsa", Keys().rsa.get()},    {"PS512", "rsa", Keys().rsa.get()},
      {"ES256", "p256", Keys().p256.get()},  {"ES384", "p384", Keys().p384.get()},
      {"EdDSA", "ed", Keys().ed25519.get()},
  };
  for (const auto& c : cases) {
    const JwtVerification result = Verify(MakeToken({{"kid", c.kid}}, Claims(), c.alg, c.key));
    ASSERT_TRUE(result.has_value()) << c.alg << ": " << result.error().reason;
    EXPECT_EQ(result->issuer, kIssuer);
    EXPECT_EQ(result->subject, "svc-1");
    EXPECT_EQ(result->audience, "dbproxy");
    EXPECT_EQ(result->expires_at, kNow + 300);
    EXPECT_EQ(result->claims, Claims());
  }
}

TEST_F(JwtTest, DefaultPolicyAllowsOnlyRs256AndEs256) {
  JwtPolicy policy{.issuer = kIssuer, .audiences = {"dbproxy"}};
  EXPECT_TRUE(Verify(Es256(Claims()), policy).has_value());
  EXPECT_TRUE(
      Verify(MakeToken({{"kid", "rsa"}}, Claims(), "RS256", Keys().rsa.get()), policy).has_value());
  ExpectRefused(Verify(MakeToken({{"kid", "rsa"}}, Claims(), "PS256", Keys().rsa.get()), policy),
                JwtErrc::kAlgorithmRefused, "\"PS256\" is not allowed for this issuer");
  ExpectRefused(Verify(MakeToken({{"kid", "ed"}}, Claims(), "EdDSA", Keys().ed25519.get()), policy),
                JwtErrc::kAlgorithmRefused);
}

TEST_F(JwtTest, ExpiryHonoursSkewExactlyAtTheBoundary) {
  json claims = Claims();
  claims["exp"] = kNow - kSkew + 1;  // one second of grace left
  EXPECT_TRUE(Verify(Es256(claims)).has_value());
  claims["exp"] = kNow - kSkew;  // now == exp + skew: expired
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kExpired, "token expired at 2027-01-15T07:59:00Z");
  claims["exp"] = kNow - 3600;
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kExpired);
}

TEST_F(JwtTest, NotBeforeHonoursSkewExactlyAtTheBoundary) {
  json claims = Claims();
  claims["nbf"] = kNow + kSkew;  // now == nbf - skew: valid
  EXPECT_TRUE(Verify(Es256(claims)).has_value());
  claims["nbf"] = kNow + kSkew + 1;
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kNotYetValid,
                "not valid before 2027-01-15T08:01:01Z");
}

TEST_F(JwtTest, IssuedAtInTheFutureBeyondSkewIsRefused) {
  json claims = Claims();
  claims["iat"] = kNow + kSkew;
  EXPECT_TRUE(Verify(Es256(claims)).has_value());
  claims["iat"] = kNow + kSkew + 1;
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kIssuedInFuture, "issued in the future");
}

TEST_F(JwtTest, ExpIsRequiredAndDatesMustBeNumericDates) {
  json claims = Claims();
  claims.erase("exp");
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kMalformed, "no exp");
  for (const json& bad : {json("1800000300"), json(true), json(-1), json(253402300800),
                          json(nullptr), json::array({1})}) {
    claims = Claims();
    claims["exp"] = bad;
    ExpectRefused(Verify(Es256(claims)), JwtErrc::kMalformed, "exp is not a valid NumericDate");
  }
  claims = Claims();
  claims["nbf"] = "soon";
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kMalformed, "nbf");
}

TEST_F(JwtTest, FractionalDatesRoundTowardRefusal) {
  json claims = Claims();
  claims["exp"] = static_cast<double>(kNow - kSkew) + 0.9;  // floors to the boundary: expired
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kExpired);
  claims = Claims();
  claims["nbf"] = static_cast<double>(kNow + kSkew) + 0.1;  // ceils past the boundary
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kNotYetValid);
  claims = Claims();
  claims["exp"] = static_cast<double>(kNow) + 10.5;
  const JwtVerification ok = Verify(Es256(claims));
  ASSERT_TRUE(ok.has_value()) << ok.error().reason;
  EXPECT_EQ(ok->expires_at, kNow + 10);
}

TEST_F(JwtTest, AudienceMayBeStringOrArrayAndOneMustMatch) {
  json claims = Claims();
  claims["aud"] = json::array({"x", "other"});
  const JwtVerification ok = Verify(Es256(claims));
  ASSERT_TRUE(ok.has_value()) << ok.error().reason;
  EXPECT_EQ(ok->audience, "other");

  claims["aud"] = "someone-else";
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kWrongAudience, "audience mismatch");
  claims["aud"] = json::array({"a", "b"});
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kWrongAudience, "audience mismatch");
  claims["aud"] = json::array();
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kWrongAudience);
  claims.erase("aud");
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kWrongAudience, "no aud");
  claims["aud"] = 7;
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kMalformed);
  claims["aud"] = json::array({"dbproxy", 7});
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kMalformed);
}

TEST_F(JwtTest, EmptyPolicyAudiencesMatchNothing) {
  JwtPolicy policy = AllAlgorithms();
  policy.audiences.clear();
  ExpectRefused(Verify(Es256(Claims()), policy), JwtErrc::kWrongAudience);
  policy.audiences = {""};
  json claims = Claims();
  claims["aud"] = "";
  ExpectRefused(Verify(Es256(claims), policy), JwtErrc::kWrongAudience);
}

TEST_F(JwtTest, IssuerMustEqualThePolicyIssuer) {
  json claims = Claims();
  claims["iss"] = "https://evil.example.com";
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kWrongIssuer,
                "issuer \"https://evil.example.com\" is not the configured issuer");
  claims["iss"] = std::string(kIssuer) + "/";
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kWrongIssuer);
  claims.erase("iss");
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kWrongIssuer);
  claims["iss"] = "";
  JwtPolicy policy = AllAlgorithms();
  policy.issuer = "";
  ExpectRefused(Verify(Es256(claims), policy), JwtErrc::kWrongIssuer);
}

TEST_F(JwtTest, SubMustBeAStringWhenPresent) {
  json claims = Claims();
  claims.erase("sub");
  const JwtVerification ok = Verify(Es256(claims));
  ASSERT_TRUE(ok.has_value()) << ok.error().reason;
  EXPECT_EQ(ok->subject, "");
  claims["sub"] = 42;
  ExpectRefused(Verify(Es256(claims)), JwtErrc::kMalformed, "sub");
}

TEST_F(JwtTest, UnknownKidIsTheRefetchableError) {
  ExpectRefused(Verify(Es256(Claims(), "rotated-2027")), JwtErrc::kUnknownKey,
                "no key \"rotated-2027\" in the issuer's JWKS");
  const Jwks empty;
  ExpectRefused(Verify(Es256(Claims()), AllAlgorithms(), &empty), JwtErrc::kUnknownKey);
}

TEST_F(JwtTest, TokenWithoutKidUsesTheOnlyFittingKey) {
  const std::string token = MakeToken(json::object(), Claims(), "ES256", Keys().p256.get());
  EXPECT_TRUE(Verify(token).has_value());
  // No kid and no EC P-384 key: nothing to refetch for but a new key, so kUnknownKey.
  Result<Jwks> rsa_only = ParseJwks(JwksText({{"rsa", Keys().rsa.get()}}));
  ASSERT_TRUE(rsa_only.has_value());
  ExpectRefused(Verify(token, AllAlgorithms(), &*rsa_only), JwtErrc::kUnknownKey, "no kid");
  // Two RSA keys both fit an RS256 token without kid: ambiguous, refused.
  Result<Jwks> two = ParseJwks(JwksText({{"a", Keys().rsa.get()}, {"b", Keys().rsa2.get()}}));
  ASSERT_TRUE(two.has_value());
  ExpectRefused(Verify(MakeToken(json::object(), Claims(), "RS256", Keys().rsa.get()),
                       AllAlgorithms(), &*two),
                JwtErrc::kKeyMismatch, "several keys");
}

TEST_F(JwtTest, AlgNoneIsRefusedEvenWhenConfigured) {
  JwtPolicy policy = AllAlgorithms();
  policy.algorithms.push_back("none");
  for (const char* alg : {"none", "None", "NONE"}) {
    const std::string token =
        Segment({{"alg", alg}, {"kid", "rsa"}}) + "." + Segment(Claims()) + ".";
    ExpectRefused(Verify(token, policy), JwtErrc::kAlgorithmRefused, "is not allowed");
  }
  const std::string token = Segment({{"alg", "none"}}) + "." + Segment(Claims()) + ".";
  ExpectRefused(Verify(token, policy), JwtErrc::kAlgorithmRefused,
                "algorithm \"none\" is not allowed (none and HMAC are never accepted)");
}

// The classic confusion: HMAC-SHA256 keyed with the RSA public key a verifier would hold.
TEST_F(JwtTest, Hs256KeyedWithTheRsaPublicKeyIsRefused) {
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PUBKEY(bio, Keys().rsa.get()), 1);
  char* pem = nullptr;
  const long pem_size = BIO_get_mem_data(bio, &pem);
  const std::string public_pem(pem, static_cast<std::size_t>(pem_size));
  BIO_free(bio);

  JwtPolicy policy = AllAlgorithms();
  policy.algorithms.push_back("HS256");
  const std::string input = Segment({{"alg", "HS256"}, {"kid", "rsa"}}) + "." + Segment(Claims());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), public_pem.data(), static_cast<int>(public_pem.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_size);
  const std::string token =
      input + "." + Base64UrlEncode(std::span<const unsigned char>(mac, mac_size));
  ExpectRefused(Verify(token, policy), JwtErrc::kAlgorithmRefused, "\"HS256\" is not allowed");
}

TEST_F(JwtTest, KeyMustFitTheAlgorithm) {
  // ES256 naming the P-384 key, signed with P-256 or P-384: both refused before any check.
  ExpectRefused(Verify(MakeToken({{"kid", "p384"}}, Claims(), "ES256", Keys().p256.get())),
                JwtErrc::kKeyMismatch, "key \"p384\" does not fit algorithm ES256");
  ExpectRefused(Verify(MakeToken({{"kid", "p384"}}, Claims(), "ES384", Keys().p256.get())),
                JwtErrc::kBadSignature);
  ExpectRefused(Verify(MakeToken({{"kid", "rsa"}}, Claims(), "ES256", Keys().p256.get())),
                JwtErrc::kKeyMismatch);
  ExpectRefused(Verify(MakeToken({{"kid", "ed"}}, Claims(), "RS256", Keys().rsa.get())),
                JwtErrc::kKeyMismatch);
}

TEST_F(JwtTest, JwkAlgPinsTheAlgorithm) {
  json doc = json::parse(JwksText({{"rsa", Keys().rsa.get()}}));
  doc["keys"][0]["alg"] = "RS256";
  Result<Jwks> pinned = ParseJwks(doc.dump());
  ASSERT_TRUE(pinned.has_value());
  EXPECT_TRUE(Verify(MakeToken({{"kid", "rsa"}}, Claims(), "RS256", Keys().rsa.get()),
                     AllAlgorithms(), &*pinned)
                  .has_value());
  ExpectRefused(Verify(MakeToken({{"kid", "rsa"}}, Claims(), "PS256", Keys().rsa.get()),
                       AllAlgorithms(), &*pinned),
                JwtErrc::kKeyMismatch);
}

TEST_F(JwtTest, TamperedOrTruncatedSignaturesFail) {
  for (const std::string& token :
       {Es256(Claims()), MakeToken({{"kid", "rsa"}}, Claims(), "PS256", Keys().rsa.get()),
        MakeToken({{"kid", "ed"}}, Claims(), "EdDSA", Keys().ed25519.get())}) {
    const std::size_t dot = token.rfind('.');
    std::string signature = *Base64UrlDecode(token.substr(dot + 1));
    const std::string input = token.substr(0, dot);
    const std::string truncated = input + "." + Base64UrlEncode(signature.substr(1));
    ExpectRefused(Verify(truncated), JwtErrc::kBadSignature, "signature invalid");
    ExpectRefused(Verify(input + "."), JwtErrc::kBadSignature);
    signature[5] = static_cast<char>(signature[5] ^ 1);
    ExpectRefused(Verify(input + "." + Base64UrlEncode(signature)), JwtErrc::kBadSignature);
    // Another payload under the original signature.
    json claims = Claims();
    claims["sub"] = "admin";
    const std::string original = token.substr(dot + 1);
    const std::string header = token.substr(0, token.find('.'));
    ExpectRefused(Verify(header + "." + Segment(claims) + "." + original), JwtErrc::kBadSignature);
  }
}

TEST_F(JwtTest, ParseRefusesMalformedTokens) {
  const std::string header = Segment({{"alg", "ES256"}, {"kid", "p256"}});
  const std::string payload = Segment(Claims());
  const std::string good = Es256(Claims());
  const std::vector<std::string> bad = {
      "",
      "abc",
      header + "." + payload,
      good + ".x",                        // four segments
      header + ".." + payload,            // four segments, one empty
      "!!!." + payload + ".c2ln",         // not base64url
      header + "=." + payload + ".c2ln",  // padding
      header + "." + payload + ".c2ln=",
      header + "." + payload + ".c2 ln",
      "." + payload + ".c2ln",  // empty header
      header + "..c2ln",        // empty payload
      header + "." + Segment(json::array({1})) + ".c2ln",
      header + "." + Base64UrlEncode("\"text\"") + ".c2ln",
      header + "." + Base64UrlEncode("not json") + ".c2ln",
      header + "." + Base64UrlEncode(R"({"sub":"a","sub":"b"})") + ".c2ln",
      header + "." + Base64UrlEncode(R"({"a":{"x":1,"x":2}})") + ".c2ln",
      header + "." + Base64UrlEncode(R"({"a":1} {"b":2})") + ".c2ln",
      Segment(json::array()) + "." + payload + ".c2ln",
      Segment({{"kid", "p256"}}) + "." + payload + ".c2ln",  // no alg
      Segment({{"alg", 1}}) + "." + payload + ".c2ln",
      Segment({{"alg", "ES256"}, {"kid", 7}}) + "." + payload + ".c2ln",
      Segment({{"alg", "ES256"}, {"typ", 7}}) + "." + payload + ".c2ln",
      Segment({{"alg", "ES256"}, {"crit", {"exp"}}}) + "." + payload + ".c2ln",
      Base64UrlEncode(R"({"alg":"none","alg":"ES256"})") + "." + payload + ".c2ln",
  };
  for (const std::string& token : bad) {
    Result<ParsedJwt> parsed = ParseJwt(token);
    ASSERT_FALSE(parsed.has_value()) << token;
    EXPECT_EQ(parsed.error().code, Errc::kInvalidRequest);
    EXPECT_EQ(parsed.error().message.rfind("malformed token: ", 0), 0u) << parsed.error().message;
    EXPECT_EQ(parsed.error().message.find(payload), std::string::npos);
  }
}

TEST_F(JwtTest, ParseCapsTheTokenSize) {
  json claims = Claims();
  claims["pad"] = std::string(13'000, 'a');
  const std::string token = Es256(claims);
  ASSERT_GT(token.size(), kMaxJwtBytes);
  Result<ParsedJwt> parsed = ParseJwt(token);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().message, "malformed token: longer than 16384 bytes");

  claims["pad"] = std::string(10'000, 'a');
  EXPECT_TRUE(Verify(Es256(claims)).has_value());
}

TEST_F(JwtTest, ParseKeepsHeaderFieldsAndSigningInput) {
  const std::string token =
      MakeToken({{"kid", "p256"}, {"typ", "at+jwt"}}, Claims(), "ES256", Keys().p256.get());
  Result<ParsedJwt> parsed = ParseJwt(token);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->header.alg, "ES256");
  EXPECT_EQ(parsed->header.kid, "p256");
  EXPECT_EQ(parsed->header.typ, "at+jwt");
  EXPECT_EQ(parsed->signing_input, token.substr(0, token.rfind('.')));
  EXPECT_EQ(parsed->signature.size(), 64u);
  EXPECT_EQ(parsed->claims, Claims());
}

TEST_F(JwtTest, ReasonsNeverContainTheToken) {
  json expired = Claims();
  expired["exp"] = kNow - 3600;
  const std::string secret_sub = "dapi-SECRET-subject-0123456789";
  expired["sub"] = secret_sub;
  for (const std::string& token :
       {Es256(expired), Es256(Claims(), "unknown"), Es256(Claims()) + "x",
        MakeToken({{"kid", "p384"}}, expired, "ES384", Keys().p256.get())}) {
    const JwtVerification result = Verify(token);
    ASSERT_FALSE(result.has_value());
    const std::string& reason = result.error().reason;
    EXPECT_EQ(reason.find(secret_sub), std::string::npos) << reason;
    for (std::size_t start = 0; start + 16 <= token.size(); start += 8) {
      ASSERT_EQ(reason.find(token.substr(start, 16)), std::string::npos) << reason;
    }
  }
}

TEST_F(JwtTest, ClaimAttributesKeepStringsAndArrays) {
  json claims = Claims();
  claims["aud"] = json::array({"dbproxy", "other"});
  claims["groups"] = json::array({"eng", "oncall"});
  claims["level"] = 3;
  claims["ratio"] = 0.5;
  claims["admin"] = false;
  claims["mixed"] = json::array({"a", 1, true});
  claims["nested"] = {{"a", 1}};
  claims["list_of_objects"] = json::array({json::object()});
  claims["nothing"] = nullptr;
  const JwtVerification verified = Verify(Es256(claims));
  ASSERT_TRUE(verified.has_value()) << verified.error().reason;

  const auto attributes =
      ClaimAttributes(*verified, {"groups", "level", "ratio", "admin", "mixed", "nested",
                                  "list_of_objects", "nothing", "absent", "sub"});
  const std::map<std::string, ClaimValue> expected = {
      {"jwt.iss", std::string(kIssuer)},
      {"jwt.sub", std::string("svc-1")},
      {"jwt.aud", std::vector<std::string>{"dbproxy", "other"}},
      {"jwt.groups", std::vector<std::string>{"eng", "oncall"}},
      {"jwt.level", std::string("3")},
      {"jwt.ratio", std::string("0.5")},
      {"jwt.admin", std::string("false")},
      {"jwt.mixed", std::vector<std::string>{"a", "1", "true"}},
  };
  EXPECT_EQ(attributes, expected);
}

TEST_F(JwtTest, UnverifiedIssuerReadsIssOfAnyWellFormedToken) {
  EXPECT_EQ(UnverifiedIssuer(Es256(Claims())), kIssuer);
  json no_iss = Claims();
  no_iss.erase("iss");
  EXPECT_EQ(UnverifiedIssuer(Es256(no_iss)), std::nullopt);
  json numeric = Claims();
  numeric["iss"] = 7;
  EXPECT_EQ(UnverifiedIssuer(Es256(numeric)), std::nullopt);
  EXPECT_EQ(UnverifiedIssuer("dapi0123456789abcdef"), std::nullopt);  // a Databricks PAT
  EXPECT_EQ(UnverifiedIssuer(""), std::nullopt);
}

TEST(BearerCredentialTest, TakesTheCredentialOfTheBearerSchemeOnly) {
  EXPECT_EQ(BearerCredential("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(BearerCredential("bearer\tabc  "), "abc");
  EXPECT_EQ(BearerCredential("BEARER   abc"), "abc");
  EXPECT_EQ(BearerCredential("Bearer"), "");
  EXPECT_EQ(BearerCredential("Bearer   "), "");
  EXPECT_EQ(BearerCredential("Bearerabc"), "");
  EXPECT_EQ(BearerCredential("Basic dXNlcjpwYXNz"), "");
  EXPECT_EQ(BearerCredential(""), "");
}

TEST(JwtPolicyTest, ValidateAcceptsAGoodPolicy) {
  EXPECT_TRUE(ValidateJwtPolicy({.issuer = kIssuer, .audiences = {"dbproxy"}}).ok());
  EXPECT_TRUE(ValidateJwtPolicy({.issuer = kIssuer,
                                 .audiences = {"a", "b"},
                                 .algorithms = {"PS512", "EdDSA", "ES384"},
                                 .clock_skew_seconds = 0})
                  .ok());
}

TEST(JwtPolicyTest, ValidateRefusesNoneHmacAndUnknownAlgorithms) {
  const struct {
    std::vector<std::string> algorithms;
    const char* message_part;
  } cases[] = {
      {{"RS256", "none"}, "\"none\" is never accepted"},
      {{"HS256"}, "\"HS256\" is never accepted"},
      {{"hs512"}, "never accepted"},
      {{"RS1"}, "\"RS1\" is not supported"},
      {{"es256"}, "not supported"},
      {{}, "algorithms must not be empty"},
  };
  for (const auto& c : cases) {
    const Status status =
        ValidateJwtPolicy({.issuer = kIssuer, .audiences = {"a"}, .algorithms = c.algorithms});
    ASSERT_FALSE(status.ok()) << c.message_part;
    EXPECT_EQ(status.error().code, Errc::kInvalidRequest);
    EXPECT_NE(status.error().message.find(c.message_part), std::string::npos)
        << status.error().message;
  }
}

TEST(JwtPolicyTest, ValidateRefusesMissingIssuerAudienceAndBadSkew) {
  EXPECT_FALSE(ValidateJwtPolicy({.issuer = "", .audiences = {"a"}}).ok());
  EXPECT_FALSE(ValidateJwtPolicy({.issuer = "a\nb", .audiences = {"a"}}).ok());
  EXPECT_FALSE(ValidateJwtPolicy({.issuer = kIssuer, .audiences = {}}).ok());
  EXPECT_FALSE(ValidateJwtPolicy({.issuer = kIssuer, .audiences = {""}}).ok());
  EXPECT_FALSE(
      ValidateJwtPolicy({.issuer = kIssuer, .audiences = {"a"}, .clock_skew_seconds = -1}).ok());
  EXPECT_FALSE(
      ValidateJwtPolicy({.issuer = kIssuer, .audiences = {"a"}, .clock_skew_seconds = 601}).ok());
  EXPECT_TRUE(
      ValidateJwtPolicy({.issuer = kIssuer, .audiences = {"a"}, .clock_skew_seconds = 600}).ok());
}

}  // namespace
}  // namespace dbproxy
