// SAML assertion verification (common/identity/saml.hpp). SamlKeys and certificates are generated at
// run time, and assertions are signed here with xmlsec directly (not through the code under
// test), then wrapped, tampered with and rearranged as text.
#include "common/identity/saml.hpp"

#include <gtest/gtest.h>

#include <time.h>

#include <array>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <xmlsec/keys.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/strings.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include "common/identity/openssl_ptr.hpp"

namespace dbproxy {
namespace {

constexpr std::int64_t kSamlNow = 1'800'000'000;
constexpr char kIdp[] = "https://idp.example.com/saml";
constexpr char kAudience[] = "https://dbproxy.example.com";
constexpr char kRsaSha256[] = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
constexpr char kEcdsaSha256[] = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
constexpr char kRsaSha1[] = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
constexpr char kSha256[] = "http://www.w3.org/2001/04/xmlenc#sha256";
constexpr char kSha1[] = "http://www.w3.org/2000/09/xmldsig#sha1";
constexpr char kExcC14n[] = "http://www.w3.org/2001/10/xml-exc-c14n#";
constexpr char kInclusiveC14n[] = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
constexpr char kEnveloped[] = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

struct X509Free {
  void operator()(X509* cert) const noexcept { X509_free(cert); }
};
struct BioFree {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
struct XmlDocFree {
  void operator()(xmlDoc* doc) const noexcept { xmlFreeDoc(doc); }
};
struct DsigCtxFree {
  void operator()(xmlSecDSigCtx* ctx) const noexcept { xmlSecDSigCtxDestroy(ctx); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocFree>;
using DsigCtxPtr = std::unique_ptr<xmlSecDSigCtx, DsigCtxFree>;

std::string Base64(std::string_view bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int size = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                                   reinterpret_cast<const unsigned char*>(bytes.data()),
                                   static_cast<int>(bytes.size()));
  text.resize(static_cast<std::size_t>(size));
  return text;
}

std::string Time(std::int64_t seconds) {
  const time_t t = static_cast<time_t>(seconds);
  tm parts{};
  gmtime_r(&t, &parts);
  std::array<char, 32> text{};
  strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text.data();
}

// A key with a self-signed certificate, its PEM and its DER in base64 (for KeyInfo).
struct Signer {
  EvpPkeyPtr key;
  X509Ptr cert;
  std::string pem;
  std::string der_base64;
};

Signer MakeSigner(EvpPkeyPtr key) {
  if (key == nullptr) throw std::runtime_error("key generation failed");
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("test idp"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) throw std::runtime_error("X509_sign");
  const BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert.get());
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<std::size_t>(size));
  unsigned char* der = nullptr;
  const int der_size = i2d_X509(cert.get(), &der);
  std::string der_base64 = Base64(std::string_view(reinterpret_cast<char*>(der), der_size));
  OPENSSL_free(der);
  return Signer{std::move(key), std::move(cert), std::move(pem), std::move(der_base64)};
}

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

// What goes into a test assertion; the defaults make a valid one.
struct Spec {
  std::string id = "_a1";
  std::string issuer = kIdp;
  std::string name_id = "alice@corp.example";
  std::string audience = kAudience;
  std::int64_t issued = kSamlNow - 10;
  std::int64_t not_before = kSamlNow - 10;
  std::optional<std::int64_t> not_on_or_after = kSamlNow + 300;
  std::optional<std::int64_t> confirmation_not_on_or_after = kSamlNow + 300;
  std::string c14n = kExcC14n;
  std::string signature_method = kRsaSha256;
  std::string digest_method = kSha256;
  bool is_signed = true;
  bool signature_in_subject = false;
  std::string attributes =
      "<saml:Attribute Name=\"groups\"><saml:AttributeValue>eng</saml:AttributeValue>"
      "<saml:AttributeValue>oncall</saml:AttributeValue></saml:Attribute>\n"
      "<saml:Attribute Name=\"email\"><saml:AttributeValue>alice@corp.example"
      "</saml:AttributeValue></saml:Attribute>\n"
      "<saml:Attribute Name=\"empty\"/>";
};

std::string SignatureTemplate(const Spec& spec) {
  return "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\n<ds:SignedInfo>"
         "<ds:CanonicalizationMethod Algorithm=\"" +
         spec.c14n +
         "\"/>"
         "<ds:SignatureMethod Algorithm=\"" +
         spec.signature_method +
         "\"/>"
         "<ds:Reference URI=\"#" +
         spec.id +
         "\"><ds:Transforms>"
         "<ds:Transform Algorithm=\"" +
         std::string(kEnveloped) +
         "\"/>"
         "<ds:Transform Algorithm=\"" +
         std::string(kExcC14n) +
         "\"/></ds:Transforms>"
         "<ds:DigestMethod Algorithm=\"" +
         spec.digest_method +
         "\"/>"
         "<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>\n"
         "<ds:SignatureValue></ds:SignatureValue></ds:Signature>\n";
}

std::string AssertionXml(const Spec& spec) {
  const std::string signature = spec.is_signed ? SignatureTemplate(spec) : "";
  const std::string expiry =
      spec.not_on_or_after ? " NotOnOrAfter=\"" + Time(*spec.not_on_or_after) + "\"" : "";
  const std::string confirmation =
      spec.confirmation_not_on_or_after
          ? " NotOnOrAfter=\"" + Time(*spec.confirmation_not_on_or_after) + "\""
          : "";
  return "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"" + spec.id +
         "\" Version=\"2.0\" IssueInstant=\"" + Time(spec.issued) + "\">\n" + "<saml:Issuer>" +
         spec.issuer + "</saml:Issuer>\n" + (spec.signature_in_subject ? "" : signature) +
         "<saml:Subject><saml:NameID "
         "Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">" +
         spec.name_id + "</saml:NameID>" +
         "<saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\">"
         "<saml:SubjectConfirmationData" +
         confirmation + "/></saml:SubjectConfirmation>" +
         (spec.signature_in_subject ? signature : "") + "</saml:Subject>\n" +
         "<saml:Conditions NotBefore=\"" + Time(spec.not_before) + "\"" + expiry + ">" +
         "<saml:AudienceRestriction><saml:Audience>" + spec.audience +
         "</saml:Audience></saml:AudienceRestriction></saml:Conditions>\n" +
         "<saml:AuthnStatement AuthnInstant=\"" + Time(spec.issued) +
         "\"><saml:AuthnContext>"
         "<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:"
         "PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>"
         "</saml:AuthnStatement>\n" +
         "<saml:AttributeStatement>" + spec.attributes + "</saml:AttributeStatement>\n" +
         "</saml:Assertion>";
}

// Signs the ds:Signature template in `xml` (whose root element carries ID `id`) with `key`, as
// an IdP would, and returns the root element serialised.
std::string Sign(const std::string& xml, EVP_PKEY* key, const std::string& id = "_a1") {
  const XmlDocPtr doc(
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), nullptr, "UTF-8", XML_PARSE_NONET));
  if (doc == nullptr) throw std::runtime_error("Sign: template does not parse");
  xmlNode* root = xmlDocGetRootElement(doc.get());
  xmlAttr* id_attr = xmlHasNsProp(root, reinterpret_cast<const xmlChar*>("ID"), nullptr);
  xmlAddID(nullptr, doc.get(), reinterpret_cast<const xmlChar*>(id.c_str()), id_attr);
  xmlNode* signature = xmlSecFindNode(root, xmlSecNodeSignature, xmlSecDSigNs);
  const DsigCtxPtr ctx(xmlSecDSigCtxCreate(nullptr));
  EVP_PKEY_up_ref(key);
  xmlSecKeyDataPtr data = xmlSecOpenSSLEvpKeyAdopt(key);
  ctx->signKey = xmlSecKeyCreate();
  if (data == nullptr || xmlSecKeySetValue(ctx->signKey, data) < 0 || signature == nullptr ||
      xmlSecDSigCtxSign(ctx.get(), signature) < 0) {
    throw std::runtime_error("Sign: xmlsec failed");
  }
  xmlBuffer* buffer = xmlBufferCreate();
  xmlNodeDump(buffer, doc.get(), root, 0, 0);
  std::string out(reinterpret_cast<const char*>(xmlBufferContent(buffer)),
                  static_cast<std::size_t>(xmlBufferLength(buffer)));
  xmlBufferFree(buffer);
  return out;
}

std::string SignedAssertion(const Spec& spec = Spec(), EVP_PKEY* key = SamlKeys().rsa.key.get()) {
  return Sign(AssertionXml(spec), key, spec.id);
}

// An unsigned assertion naming an administrator: what a wrapping attack wants read.
std::string EvilAssertion(const std::string& id = "_evil") {
  Spec spec;
  spec.id = id;
  spec.is_signed = false;
  spec.name_id = "admin@corp.example";
  spec.attributes =
      "<saml:Attribute Name=\"groups\"><saml:AttributeValue>admins</saml:AttributeValue>"
      "</saml:Attribute>";
  return AssertionXml(spec);
}

std::string ResponseXml(const std::string& children) {
  return "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
         "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_r1\" Version=\"2.0\" "
         "IssueInstant=\"" +
         Time(kSamlNow) + "\"><saml:Issuer>" + std::string(kIdp) +
         "</saml:Issuer><samlp:Status><samlp:StatusCode "
         "Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>" +
         children + "</samlp:Response>";
}

// `text` with `insertion` placed before the first `marker`.
std::string InsertBefore(std::string text, std::string_view marker, std::string_view insertion) {
  const std::size_t at = text.find(marker);
  if (at == std::string::npos) throw std::runtime_error("marker not found");
  return text.insert(at, insertion);
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
  const std::map<std::string, std::vector<std::string>> expected = {
      {"groups", {"eng", "oncall"}}, {"email", {"alice@corp.example"}}, {"empty", {}}};
  EXPECT_EQ(result->attributes, expected);
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

}  // namespace
}  // namespace dbproxy
