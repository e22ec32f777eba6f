// SAML assertion verification (common/identity/saml.hpp) and the choice among providers
// (saml_providers.hpp). Keys and certificates are generated at run time, and assertions are
// signed with xmlsec directly (saml_test_support.hpp, not through the code under test), then
// wrapped, tampered with and rearranged as text.
#include "common/identity/saml.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <openssl/evp.h>

#include "common/identity/openssl_ptr.hpp"
#include "common/identity/saml_providers.hpp"
#include "tests/common/identity/saml_test_support.hpp"

namespace dbproxy {
namespace {

using saml_testing::AssertionXml;
using saml_testing::Base64;
using saml_testing::EvilAssertion;
using saml_testing::InsertBefore;
using saml_testing::kAudience;
using saml_testing::kEnveloped;
using saml_testing::kEcdsaSha256;
using saml_testing::kIdp;
using saml_testing::kInclusiveC14n;
using saml_testing::kRsaSha1;
using saml_testing::kSamlNow;
using saml_testing::kSha1;
using saml_testing::MakeSigner;
using saml_testing::ResponseXml;
using saml_testing::Sign;
using saml_testing::Signer;
using saml_testing::Spec;
using saml_testing::Time;

// Generated once per test binary: RSA generation is slow under ASan.
struct SamlTestKeys {
  Signer rsa =
      MakeSigner(EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})));
  Signer ec = MakeSigner(EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")));
  Signer untrusted =
      MakeSigner(EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})));
  Signer weak_ec = MakeSigner(EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-192")));
  Signer weak =
      MakeSigner(EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024})));
};

const SamlTestKeys& SamlKeys() {
  static const SamlTestKeys* const keys = new SamlTestKeys();  // never freed: used until exit
  return *keys;
}

std::string SignedAssertion(const Spec& spec = Spec(), EVP_PKEY* key = SamlKeys().rsa.key.get()) {
  return Sign(AssertionXml(spec), key, spec.id);
}

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  const std::size_t at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error("text to replace not found");
  return text.replace(at, from.size(), to);
}

std::string KeyInfo(const Signer& signer) {
  return "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>" + signer.der_base64 +
         "</ds:X509Certificate></ds:X509Data></ds:KeyInfo>";
}

SamlPolicy Policy() {
  return SamlPolicy{.entity_id = kIdp,
                    .certificates_pem = {SamlKeys().rsa.pem, SamlKeys().ec.pem},
                    .audiences = {"https://other.example.com", kAudience},
                    .clock_skew_seconds = 60};
}

SamlVerification Verify(const std::string& xml, const SamlPolicy& policy = Policy()) {
  return VerifySamlAssertion(Base64(xml), policy, kSamlNow);
}

void ExpectRefused(const SamlVerification& result, SamlErrc code,
                   const std::string& reason_part = "") {
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, code) << result.error().reason;
  EXPECT_NE(result.error().reason.find(reason_part), std::string::npos) << result.error().reason;
}

class SamlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(InitSamlVerifier());
    (void)SamlKeys();
  }
};

TEST_F(SamlTest, AcceptsRsaSignedAssertion) {
  const SamlVerification result = Verify(SignedAssertion());
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_EQ(result->issuer, kIdp);
  EXPECT_EQ(result->name_id, "alice@corp.example");
  EXPECT_EQ(result->assertion_id, "_a1");
  EXPECT_EQ(result->not_on_or_after, kSamlNow + 300);
  EXPECT_EQ(result->usable_until, kSamlNow + 300 + 60) << "NotOnOrAfter + the policy's skew";
  EXPECT_FALSE(result->one_time_use);
  const std::map<std::string, std::vector<std::string>> expected = {
      {"groups", {"eng", "oncall"}}, {"email", {"alice@corp.example"}}, {"empty", {}}};
  EXPECT_EQ(result->attributes, expected);
}

TEST_F(SamlTest, ReportsOneTimeUseForTheReplayCache) {
  Spec spec;
  spec.extra_conditions = "<saml:OneTimeUse/>";
  const SamlVerification result = Verify(SignedAssertion(spec));
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_TRUE(result->one_time_use);
  EXPECT_EQ(result->assertion_id, "_a1");
}

TEST_F(SamlTest, AcceptsEcdsaSignedAssertion) {
  Spec spec;
  spec.signature_method = kEcdsaSha256;
  const SamlVerification result = Verify(SignedAssertion(spec, SamlKeys().ec.key.get()));
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_EQ(result->name_id, "alice@corp.example");
  EXPECT_EQ(result->attributes.at("groups"), (std::vector<std::string>{"eng", "oncall"}));
}

TEST_F(SamlTest, AcceptsAssertionInsideResponse) {
  const SamlVerification result = Verify(ResponseXml(SignedAssertion()));
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_EQ(result->issuer, kIdp);
  EXPECT_EQ(result->name_id, "alice@corp.example");
}

TEST_F(SamlTest, AcceptsKeyInfoOfTheTrustedCertificate) {
  const std::string signed_xml =
      InsertBefore(SignedAssertion(), "</ds:Signature>", KeyInfo(SamlKeys().rsa));
  const SamlVerification result = Verify(signed_xml);
  EXPECT_TRUE(result.has_value()) << result.error().reason;
}

TEST_F(SamlTest, AcceptsAnyConfiguredCertificate) {
  SamlPolicy policy = Policy();
  policy.certificates_pem = {SamlKeys().untrusted.pem, SamlKeys().ec.pem, SamlKeys().rsa.pem};
  const SamlVerification result = Verify(SignedAssertion(), policy);
  EXPECT_TRUE(result.has_value()) << result.error().reason;
}

TEST_F(SamlTest, AcceptsTimesWithinClockSkew) {
  Spec spec;
  spec.issued = kSamlNow + 59;
  spec.not_before = kSamlNow + 60;
  spec.not_on_or_after = kSamlNow - 59;
  spec.confirmation_not_on_or_after = kSamlNow - 59;
  const SamlVerification result = Verify(SignedAssertion(spec));
  EXPECT_TRUE(result.has_value()) << result.error().reason;
}

TEST_F(SamlTest, RefusesTamperedAttributeValue) {
  const std::string tampered = Replace(SignedAssertion(), ">eng<", ">admins<");
  ExpectRefused(Verify(tampered), SamlErrc::kBadSignature, "does not verify");
}

TEST_F(SamlTest, RefusesTamperedNameId) {
  const std::string tampered = Replace(SignedAssertion(), ">alice@corp.example</saml:NameID>",
                                       ">admin@corp.example</saml:NameID>");
  ExpectRefused(Verify(tampered), SamlErrc::kBadSignature);
}

TEST_F(SamlTest, RefusesUnsignedAssertion) {
  Spec spec;
  spec.is_signed = false;
  ExpectRefused(Verify(AssertionXml(spec)), SamlErrc::kBadSignature, "not signed");
}

TEST_F(SamlTest, RefusesUntrustedSignerEvenWithItsCertificateInKeyInfo) {
  const std::string signed_xml = InsertBefore(SignedAssertion(Spec(), SamlKeys().untrusted.key.get()),
                                              "</ds:Signature>", KeyInfo(SamlKeys().untrusted));
  ExpectRefused(Verify(signed_xml), SamlErrc::kBadSignature);
}

// XML signature wrapping: the signed assertion stays intact and verifies; an unsigned one is
// added where a careless reader would take it.
TEST_F(SamlTest, RefusesSecondAssertionBeforeTheSignedOne) {
  ExpectRefused(Verify(ResponseXml(EvilAssertion() + SignedAssertion())),
                SamlErrc::kUnsafeStructure, "2 assertions");
}

TEST_F(SamlTest, RefusesSecondAssertionAfterTheSignedOne) {
  ExpectRefused(Verify(ResponseXml(SignedAssertion() + EvilAssertion())),
                SamlErrc::kUnsafeStructure, "2 assertions");
}

TEST_F(SamlTest, RefusesAssertionInsideTheSignedOne) {
  const std::string wrapped = InsertBefore(SignedAssertion(), "<saml:Subject>", EvilAssertion());
  ExpectRefused(Verify(wrapped), SamlErrc::kUnsafeStructure, "2 assertions");
  ExpectRefused(Verify(ResponseXml(wrapped)), SamlErrc::kUnsafeStructure, "2 assertions");
}

TEST_F(SamlTest, RefusesSignedAssertionInsideAnUnsignedOne) {
  const std::string wrapped = InsertBefore(EvilAssertion(), "<saml:Subject>", SignedAssertion());
  ExpectRefused(Verify(wrapped), SamlErrc::kUnsafeStructure, "2 assertions");
}

TEST_F(SamlTest, RefusesAssertionInsideSignatureObject) {
  const std::string wrapped = InsertBefore(SignedAssertion(), "</ds:Signature>",
                                           "<ds:Object>" + EvilAssertion() + "</ds:Object>");
  ExpectRefused(Verify(wrapped), SamlErrc::kUnsafeStructure, "2 assertions");
}

TEST_F(SamlTest, RefusesSignedAssertionMovedIntoExtensions) {
  // The classic wrapping: the evil assertion takes the signed one's place and ID.
  const std::string moved = ResponseXml("<samlp:Extensions>" + SignedAssertion() +
                                        "</samlp:Extensions>" + EvilAssertion("_a1"));
  ExpectRefused(Verify(moved), SamlErrc::kUnsafeStructure, "2 assertions");
  const std::string alone =
      ResponseXml("<samlp:Extensions>" + SignedAssertion() + "</samlp:Extensions>");
  ExpectRefused(Verify(alone), SamlErrc::kUnsafeStructure, "not its direct child");
}

TEST_F(SamlTest, RefusesOtherElementClaimingTheAssertionId) {
  const std::string claimed = ResponseXml(
      "<samlp:Extensions><x:Thing xmlns:x=\"urn:example\" xml:id=\"_a1\"/>"
      "</samlp:Extensions>" +
      SignedAssertion());
  ExpectRefused(Verify(claimed), SamlErrc::kUnsafeStructure, "other IDs");
}

TEST_F(SamlTest, RefusesSignatureThatIsNotTheAssertionsChild) {
  Spec spec;
  spec.signature_in_subject = true;
  ExpectRefused(Verify(SignedAssertion(spec)), SamlErrc::kUnsafeStructure, "direct child");
}

TEST_F(SamlTest, RefusesTwoSignatures) {
  const std::string signed_xml = SignedAssertion();
  const std::size_t begin = signed_xml.find("<ds:Signature");
  const std::size_t end =
      signed_xml.find("</ds:Signature>") + std::string_view("</ds:Signature>").size();
  const std::string twice =
      InsertBefore(signed_xml, "<saml:Subject>", signed_xml.substr(begin, end - begin));
  ExpectRefused(Verify(twice), SamlErrc::kUnsafeStructure, "exactly one Signature");
}

TEST_F(SamlTest, RefusesReferenceToAnythingButTheAssertion) {
  for (const char* uri : {"URI=\"\"", "URI=\"#_r1\"", "URI=\"#xpointer(/)\""}) {
    const std::string changed = Replace(SignedAssertion(), "URI=\"#_a1\"", uri);
    ExpectRefused(Verify(ResponseXml(changed)), SamlErrc::kUnsafeStructure,
                  "reference is not the assertion");
  }
}

TEST_F(SamlTest, RefusesSha1SignatureMethod) {
  Spec spec;
  spec.signature_method = kRsaSha1;
  ExpectRefused(Verify(SignedAssertion(spec)), SamlErrc::kAlgorithmRefused,
                "signature method \"http://www.w3.org/2000/09/xmldsig#rsa-sha1\" is not allowed");
}

TEST_F(SamlTest, RefusesSha1Digest) {
  Spec spec;
  spec.digest_method = kSha1;
  ExpectRefused(Verify(SignedAssertion(spec)), SamlErrc::kAlgorithmRefused, "digest method");
}

TEST_F(SamlTest, RefusesInclusiveCanonicalization) {
  Spec spec;
  spec.c14n = kInclusiveC14n;
  ExpectRefused(Verify(SignedAssertion(spec)), SamlErrc::kAlgorithmRefused,
                "canonicalization method");
}

TEST_F(SamlTest, RefusesOtherTransforms) {
  const std::string xslt =
      Replace(SignedAssertion(), kEnveloped, "http://www.w3.org/TR/1999/REC-xslt-19991116");
  ExpectRefused(Verify(xslt), SamlErrc::kAlgorithmRefused, "transform");
}

TEST_F(SamlTest, RefusesExpiredAssertion) {
  Spec spec;
  spec.not_on_or_after = kSamlNow - 60;  // now >= NotOnOrAfter + skew
  ExpectRefused(Verify(SignedAssertion(spec)), SamlErrc::kExpired,
                "assertion expired at " + Time(kSamlNow - 60));
}

TEST_F(SamlTest, RefusesExpiredSubjectConfirmation) {
  Spec spec;
  spec.confirmation_not_on_or_after = kSamlNow - 61;
  ExpectRefused(Verify(SignedAssertion(spec)), SamlErrc::kExpired, "subject confirmation");
}

TEST_F(SamlTest, RefusesAssertionNotYetValid) {
  Spec spec;
  spec.not_before = kSamlNow + 61;
  ExpectRefused(Verify(SignedAssertion(spec)), SamlErrc::kNotYetValid, "not valid before");
}

TEST_F(SamlTest, RefusesAssertionIssuedInTheFuture) {
  Spec spec;
  spec.issued = kSamlNow + 61;
  ExpectRefused(Verify(SignedAssertion(spec)), SamlErrc::kNotYetValid, "issued in the future");
}

TEST_F(SamlTest, RefusesAssertionWithoutNotOnOrAfter) {
  Spec spec;
  spec.not_on_or_after = std::nullopt;
  ExpectRefused(Verify(SignedAssertion(spec)), SamlErrc::kMalformed, "NotOnOrAfter");
}

TEST_F(SamlTest, RefusesWrongAudience) {
  Spec spec;
  spec.audience = "https://elsewhere.example.com";
  ExpectRefused(Verify(SignedAssertion(spec)), SamlErrc::kWrongAudience, "audience mismatch");
}

TEST_F(SamlTest, RefusesWrongIssuer) {
  Spec spec;
  spec.issuer = "https://evil.example.com/saml";
  ExpectRefused(Verify(SignedAssertion(spec)), SamlErrc::kWrongIssuer,
                "\"https://evil.example.com/saml\" is not the configured entity ID");
}

TEST_F(SamlTest, RefusesCommentInsideNameIdAddedAfterSigning) {
  // Exclusive c14n drops comments, so the IdP's signature over "admin@corp.evil.com" still
  // verifies; a reader taking the first text node would see "admin@corp".
  Spec spec;
  spec.name_id = "admin@corp.evil.com";
  const std::string truncated =
      Replace(SignedAssertion(spec), ">admin@corp.evil.com<", ">admin@corp<!---->.evil.com<");
  ExpectRefused(Verify(truncated), SamlErrc::kUnsafeStructure, "NameID holds a comment");
}

TEST_F(SamlTest, RefusesCommentInsideSignedNameId) {
  Spec spec;
  spec.name_id = "admin@corp<!---->.evil.com";
  ExpectRefused(Verify(SignedAssertion(spec)), SamlErrc::kUnsafeStructure, "NameID");
}

TEST_F(SamlTest, RefusesCommentOrElementInsideAttributeValue) {
  for (const char* value : {"eng<!-- x -->ineering", "<b>eng</b>", "eng<?pi x?>"}) {
    Spec spec;
    spec.attributes = "<saml:Attribute Name=\"groups\"><saml:AttributeValue>" + std::string(value) +
                      "</saml:AttributeValue></saml:Attribute>";
    ExpectRefused(Verify(SignedAssertion(spec)), SamlErrc::kUnsafeStructure,
                  "attribute \"groups\"");
  }
}

TEST_F(SamlTest, ReadsTheWholeTextOfValues) {
  Spec spec;
  spec.name_id = "a&amp;b<![CDATA[<c>]]>d";
  spec.attributes =
      "<saml:Attribute Name=\"x\"><saml:AttributeValue>1 &lt; 2</saml:AttributeValue>"
      "</saml:Attribute>";
  const SamlVerification result = Verify(SignedAssertion(spec));
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_EQ(result->name_id, "a&b<c>d");
  EXPECT_EQ(result->attributes.at("x"), std::vector<std::string>{"1 < 2"});
}

TEST_F(SamlTest, RefusesRepeatedAttributeName) {
  Spec spec;
  spec.attributes =
      "<saml:Attribute Name=\"groups\"><saml:AttributeValue>eng</saml:AttributeValue>"
      "</saml:Attribute><saml:Attribute Name=\"groups\"><saml:AttributeValue>admins"
      "</saml:AttributeValue></saml:Attribute>";
  ExpectRefused(Verify(SignedAssertion(spec)), SamlErrc::kMalformed, "appears twice");
}

TEST_F(SamlTest, RefusesDoctypeAndEntities) {
  const std::string signed_xml = SignedAssertion();
  const std::vector<std::string> doctypes = {
      "<!DOCTYPE saml:Assertion [<!ENTITY e \"alice@corp.example\">]>",
      "<!DOCTYPE saml:Assertion SYSTEM \"http://127.0.0.1:9/evil.dtd\">",
      "<!DOCTYPE saml:Assertion SYSTEM \"file:///etc/passwd\">",
      "<!DOCTYPE lol [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
      "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;\">]>",
  };
  for (const std::string& doctype : doctypes) {
    ExpectRefused(Verify(doctype + signed_xml), SamlErrc::kMalformed, "DOCTYPE");
  }
  const std::string entity = Replace(signed_xml, ">eng<", ">&e;<");
  ExpectRefused(Verify(entity), SamlErrc::kMalformed, "not well-formed");
}

TEST_F(SamlTest, RefusesBadBase64) {
  const std::string valid = Base64(SignedAssertion());
  const std::vector<std::string> inputs = {"",
                                           "not base64!",
                                           "QUJD\n",
                                           " QUJD",
                                           "QUJ",
                                           "QUJ=",
                                           "QQ=A",
                                           "QUJD====",
                                           "QUJD-_8=",
                                           valid + "\n",
                                           valid.substr(0, valid.size() - 1)};
  for (const std::string& input : inputs) {
    const SamlVerification result = VerifySamlAssertion(input, Policy(), kSamlNow);
    ExpectRefused(result, SamlErrc::kMalformed, "base64");
  }
}

TEST_F(SamlTest, RefusesOversizedAssertion) {
  // 65537 bytes: base64 within kMaxSamlBase64Bytes, decoded one byte too many.
  const std::string signed_xml = SignedAssertion();
  std::string padded = InsertBefore(signed_xml, "<saml:Subject>", "<!--");
  padded = InsertBefore(padded, "<saml:Subject>",
                        std::string(kMaxSamlAssertionBytes + 1 - signed_xml.size() - 7, 'x'));
  padded = InsertBefore(padded, "<saml:Subject>", "-->");
  ASSERT_EQ(padded.size(), kMaxSamlAssertionBytes + 1);
  ASSERT_LE(Base64(padded).size(), kMaxSamlBase64Bytes);
  ExpectRefused(Verify(padded), SamlErrc::kMalformed, "larger than 65536 bytes");
  ExpectRefused(VerifySamlAssertion(std::string(kMaxSamlBase64Bytes + 4, 'A'), Policy(), kSamlNow),
                SamlErrc::kMalformed, "larger than 65536 bytes");
}

TEST_F(SamlTest, RefusesDocumentsThatAreNotOneAssertion) {
  ExpectRefused(Verify("hello"), SamlErrc::kMalformed, "not well-formed");
  ExpectRefused(Verify(SignedAssertion().substr(0, 200)), SamlErrc::kMalformed, "not well-formed");
  ExpectRefused(Verify("<x:Assertion xmlns:x=\"urn:oasis:names:tc:SAML:1.0:assertion\"/>"),
                SamlErrc::kMalformed, "neither");
  ExpectRefused(Verify(ResponseXml("")), SamlErrc::kMalformed, "no assertion");
  ExpectRefused(Verify(ResponseXml("<saml:EncryptedAssertion/>")), SamlErrc::kMalformed,
                "encrypted");
}

TEST_F(SamlTest, RefusesUnusablePolicyAsInvalidPolicy) {
  SamlPolicy policy = Policy();
  policy.certificates_pem.clear();
  ExpectRefused(Verify(SignedAssertion(), policy), SamlErrc::kInvalidPolicy, "certificates");
  policy = Policy();
  policy.entity_id = "";
  ExpectRefused(Verify(SignedAssertion(), policy), SamlErrc::kInvalidPolicy, "entity_id");
}

TEST_F(SamlTest, ReasonsNeverQuoteTheAssertion) {
  const std::string signed_xml = SignedAssertion();
  for (const SamlVerification& result :
       {Verify(Replace(signed_xml, ">eng<", ">admins<")), Verify(signed_xml.substr(0, 300)),
        Verify(ResponseXml(EvilAssertion() + signed_xml))}) {
    ASSERT_FALSE(result.has_value());
    EXPECT_LT(result.error().reason.size(), 200U) << result.error().reason;
    EXPECT_EQ(result.error().reason.find("alice@corp.example"), std::string::npos);
    EXPECT_EQ(result.error().reason.find("SignatureValue>"), std::string::npos);
  }
}

TEST_F(SamlTest, LibrariesDoNotWriteToStderr) {
  const std::string signed_xml = SignedAssertion();
  ::testing::internal::CaptureStderr();
  (void)Verify(Replace(signed_xml, ">eng<", ">admins<"));
  (void)Verify(signed_xml.substr(0, 300));
  (void)Verify("<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>");
  (void)Verify(SignedAssertion(Spec(), SamlKeys().untrusted.key.get()));
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST_F(SamlTest, VerifiesConcurrently) {
  const std::string valid = SignedAssertion();
  const std::string tampered = Replace(valid, ">eng<", ">admins<");
  std::vector<std::thread> threads;
  std::array<int, 4> accepted{};
  for (std::size_t t = 0; t < accepted.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        accepted[t] += Verify(valid).has_value() ? 1 : 0;
        accepted[t] += Verify(tampered).has_value() ? 100 : 0;
      }
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  for (const int count : accepted)
    EXPECT_EQ(count, 5);
}

TEST(SamlPolicyTest, ValidatesFields) {
  EXPECT_TRUE(ValidateSamlPolicy(Policy()).ok());
  struct Case {
    const char* name;
    SamlPolicy policy;
    const char* message_part;
  };
  const auto with = [](auto change) {
    SamlPolicy policy = Policy();
    change(policy);
    return policy;
  };
  const std::vector<Case> cases = {
      {"empty entity_id", with([](SamlPolicy& p) { p.entity_id.clear(); }), "entity_id"},
      {"no certificates", with([](SamlPolicy& p) { p.certificates_pem.clear(); }), "certificates"},
      {"no audiences", with([](SamlPolicy& p) { p.audiences.clear(); }), "audiences"},
      {"empty audience", with([](SamlPolicy& p) { p.audiences.push_back(""); }), "audience"},
      {"skew", with([](SamlPolicy& p) { p.clock_skew_seconds = 601; }), "clock_skew_seconds"},
      {"not PEM", with([](SamlPolicy& p) { p.certificates_pem[1] = "hello"; }),
       "certificate 2 is not a PEM certificate"},
      {"two in one", with([](SamlPolicy& p) { p.certificates_pem[0] += SamlKeys().ec.pem; }),
       "certificate 1 holds more than one certificate"},
      {"weak RSA", with([](SamlPolicy& p) { p.certificates_pem = {SamlKeys().weak.pem}; }),
       "at least 2048 bits"},
      {"weak EC", with([](SamlPolicy& p) { p.certificates_pem = {SamlKeys().weak_ec.pem}; }),
       "EC of at least 256 bits"},
  };
  for (const Case& c : cases) {
    const Status status = ValidateSamlPolicy(c.policy);
    ASSERT_FALSE(status.ok()) << c.name;
    EXPECT_EQ(status.error().code, Errc::kInvalidRequest) << c.name;
    EXPECT_NE(status.error().message.find(c.message_part), std::string::npos)
        << c.name << ": " << status.error().message;
  }
}

// [[saml_idp]] providers (saml_providers.hpp).
std::vector<SamlProvider> TwoProviders() {
  SamlPolicy other = Policy();
  other.entity_id = "https://other-idp.example.com";
  other.certificates_pem = {SamlKeys().untrusted.pem};
  return {SamlProvider{.name = "other", .policy = other},
          SamlProvider{.name = "corp", .policy = Policy()}};
}

SamlVerdict VerifyWithBoth(const std::string& xml) {
  return VerifyWithSamlProviders(TwoProviders(), Base64(xml), kSamlNow);
}

TEST_F(SamlTest, ProvidersAcceptWithTheOneThatVerifies) {
  const SamlVerdict verdict = VerifyWithBoth(SignedAssertion());
  ASSERT_EQ(verdict.kind, SamlVerdict::Kind::kVerified) << verdict.reason;
  EXPECT_EQ(verdict.idp, "corp");
  EXPECT_EQ(verdict.saml.name_id, "alice@corp.example");
}

TEST_F(SamlTest, ProvidersGiveTheReasonOfTheProviderThatKnowsTheAssertion) {
  Spec expired;
  expired.not_on_or_after = kSamlNow - 60;
  const SamlVerdict late = VerifyWithBoth(SignedAssertion(expired));
  EXPECT_EQ(late.kind, SamlVerdict::Kind::kRefused);
  EXPECT_EQ(late.idp, "corp");
  EXPECT_NE(late.reason.find("assertion expired at"), std::string::npos) << late.reason;

  const SamlVerdict tampered = VerifyWithBoth(Replace(SignedAssertion(), ">eng<", ">admins<"));
  EXPECT_EQ(tampered.kind, SamlVerdict::Kind::kRefused);
  EXPECT_EQ(tampered.idp, "") << "no provider's certificate verified it";
  EXPECT_NE(tampered.reason.find("does not verify"), std::string::npos) << tampered.reason;

  const SamlVerdict wrapped = VerifyWithBoth(ResponseXml(EvilAssertion() + SignedAssertion()));
  EXPECT_EQ(wrapped.kind, SamlVerdict::Kind::kRefused);
  EXPECT_NE(wrapped.reason.find("2 assertions"), std::string::npos) << wrapped.reason;

  const SamlVerdict none = VerifyWithSamlProviders({}, Base64(SignedAssertion()), kSamlNow);
  EXPECT_EQ(none.kind, SamlVerdict::Kind::kRefused);
  EXPECT_EQ(none.reason, "no SAML identity provider is configured");

  std::vector<SamlProvider> broken = TwoProviders();
  broken[0].policy.audiences.clear();
  EXPECT_EQ(VerifyWithSamlProviders(broken, Base64(SignedAssertion()), kSamlNow).kind,
            SamlVerdict::Kind::kFailed);
}

TEST_F(SamlTest, PolicyAttributesNameTheVerifiedIssuerAndNameId) {
  Spec spec;
  spec.attributes =
      "<saml:Attribute Name=\"groups\"><saml:AttributeValue>eng</saml:AttributeValue>"
      "</saml:Attribute><saml:Attribute Name=\"name_id\"><saml:AttributeValue>root"
      "</saml:AttributeValue></saml:Attribute><saml:Attribute Name=\"issuer\"/>";
  const SamlVerification result = Verify(SignedAssertion(spec));
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  const SamlAttributes expected = {{"saml.issuer", {kIdp}},
                                   {"saml.name_id", {"alice@corp.example"}},
                                   {"saml.groups", {"eng"}}};
  EXPECT_EQ(SamlPolicyAttributes(*result), expected);
}

TEST(SamlProvidersTest, SplitsACertificateFile) {
  const std::string first = SamlKeys().rsa.pem;
  const std::string second = SamlKeys().ec.pem;
  Result<std::vector<std::string>> split =
      SplitPemCertificates("subject=CN = test idp\n" + first + "\n# next\n" + second);
  ASSERT_TRUE(split.has_value()) << split.error().message;
  ASSERT_EQ(split->size(), 2U);
  EXPECT_EQ((*split)[0], first);
  EXPECT_EQ((*split)[1], second);
  SamlPolicy policy = Policy();
  policy.certificates_pem = *split;
  EXPECT_TRUE(ValidateSamlPolicy(policy).ok());

  const std::vector<std::pair<std::string, std::string>> refused = {
      {"", "holds no PEM certificate"},
      {"hello\n", "holds no PEM certificate"},
      {first + saml_testing::PrivateKeyPem(SamlKeys().ec.key.get()),
       "not a certificate (PRIVATE KEY)"},
      {first.substr(0, first.size() - 10), "certificate 1 has no END CERTIFICATE line"},
      {first.substr(0, 40) + second, "certificate 1 has no END CERTIFICATE line"},
  };
  for (const auto& [text, message] : refused) {
    Result<std::vector<std::string>> bad = SplitPemCertificates(text);
    ASSERT_FALSE(bad.has_value()) << message;
    EXPECT_NE(bad.error().message.find(message), std::string::npos) << bad.error().message;
  }
  std::string many;
  for (int i = 0; i < 17; ++i) many += first;
  EXPECT_FALSE(SplitPemCertificates(many).has_value());
}

}  // namespace
}  // namespace dbproxy
