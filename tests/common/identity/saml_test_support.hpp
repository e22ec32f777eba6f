// Signed SAML assertions for tests (tests/common/identity/saml_test.cpp, the integration tests):
// keys with self-signed certificates, assertions built as text from a SamlSpec, and signatures
// made with xmlsec directly (not through the code under test), as an IdP would.
//
// Threading: any thread; each call has its own document and contexts. Errors throw
// std::runtime_error (a test setup that cannot sign is a broken test).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <openssl/x509.h>

#include "common/identity/openssl_ptr.hpp"

namespace dbproxy::saml_testing {

inline constexpr std::int64_t kSamlNow = 1'800'000'000;
inline constexpr char kIdp[] = "https://idp.example.com/saml";
inline constexpr char kAudience[] = "https://dbproxy.example.com";
inline constexpr char kRsaSha256[] = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
inline constexpr char kEcdsaSha256[] = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
inline constexpr char kRsaSha1[] = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
inline constexpr char kSha256[] = "http://www.w3.org/2001/04/xmlenc#sha256";
inline constexpr char kSha1[] = "http://www.w3.org/2000/09/xmldsig#sha1";
inline constexpr char kExcC14n[] = "http://www.w3.org/2001/10/xml-exc-c14n#";
inline constexpr char kInclusiveC14n[] = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
inline constexpr char kEnveloped[] = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

struct X509Free {
  void operator()(X509* cert) const noexcept { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// Standard base64 (RFC 4648 section 4, with padding), as an IdP sends an assertion.
std::string Base64(std::string_view bytes);
// "2027-01-15T08:00:00Z".
std::string Time(std::int64_t seconds);

// A key with a self-signed certificate, its PEM and its DER in base64 (for KeyInfo).
struct Signer {
  EvpPkeyPtr key;
  X509Ptr cert;
  std::string pem;
  std::string der_base64;
};
// Throws when `key` is null.
Signer MakeSigner(EvpPkeyPtr key);
// `key` as an unencrypted PKCS#8 PEM block ("PRIVATE KEY"): what an operator might put in a
// certificate file by mistake. Keys are generated at test time, never committed.
std::string PrivateKeyPem(EVP_PKEY* key);

// What goes into a test assertion; the defaults make a valid one at kSamlNow, signed with RSA.
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
  std::string extra_conditions;  // placed after the AudienceRestriction, e.g. <saml:OneTimeUse/>
  std::string attributes =
      "<saml:Attribute Name=\"groups\"><saml:AttributeValue>eng</saml:AttributeValue>"
      "<saml:AttributeValue>oncall</saml:AttributeValue></saml:Attribute>\n"
      "<saml:Attribute Name=\"email\"><saml:AttributeValue>alice@corp.example"
      "</saml:AttributeValue></saml:Attribute>\n"
      "<saml:Attribute Name=\"empty\"/>";
};

// The defaults, with every time moved so that the assertion is valid at `now`.
Spec SpecAt(std::int64_t now);

// The assertion of `spec` as text, with an empty ds:Signature template when spec.is_signed.
std::string AssertionXml(const Spec& spec);

// Signs the ds:Signature template in `xml` (whose root element carries ID `id`) with `key`, as
// an IdP would, and returns the root element serialised. Initialises xmlsec when needed.
std::string Sign(const std::string& xml, EVP_PKEY* key, const std::string& id = "_a1");

// An unsigned assertion naming an administrator: what a wrapping attack wants read.
std::string EvilAssertion(const std::string& id = "_evil");

// A samlp:Response (ID "_r1") around `children`.
std::string ResponseXml(const std::string& children);

// `text` with `insertion` placed before the first `marker`; throws when there is none.
std::string InsertBefore(std::string text, std::string_view marker, std::string_view insertion);

}  // namespace dbproxy::saml_testing
