#include "tests/common/identity/saml_test_support.hpp"

#include <time.h>

#include <array>
#include <cstddef>
#include <stdexcept>
#include <utility>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <xmlsec/keys.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/strings.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include "common/identity/saml.hpp"

namespace dbproxy::saml_testing {
namespace {

struct BioFree {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
struct XmlDocFree {
  void operator()(xmlDoc* doc) const noexcept { xmlFreeDoc(doc); }
};
struct DsigCtxFree {
  void operator()(xmlSecDSigCtx* ctx) const noexcept { xmlSecDSigCtxDestroy(ctx); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocFree>;
using DsigCtxPtr = std::unique_ptr<xmlSecDSigCtx, DsigCtxFree>;

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

}  // namespace

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

std::string PrivateKeyPem(EVP_PKEY* key) {
  const BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw std::runtime_error("PEM_write_bio_PrivateKey");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

Spec SpecAt(std::int64_t now) {
  Spec spec;
  spec.issued = now - 10;
  spec.not_before = now - 10;
  spec.not_on_or_after = now + 300;
  spec.confirmation_not_on_or_after = now + 300;
  return spec;
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
         "</saml:Audience></saml:AudienceRestriction>" + spec.extra_conditions +
         "</saml:Conditions>\n" +
         "<saml:AuthnStatement AuthnInstant=\"" + Time(spec.issued) +
         "\"><saml:AuthnContext>"
         "<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:"
         "PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>"
         "</saml:AuthnStatement>\n" +
         "<saml:AttributeStatement>" + spec.attributes + "</saml:AttributeStatement>\n" +
         "</saml:Assertion>";
}

std::string Sign(const std::string& xml, EVP_PKEY* key, const std::string& id) {
  if (!InitSamlVerifier()) throw std::runtime_error("Sign: xmlsec does not initialise");
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

std::string EvilAssertion(const std::string& id) {
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

std::string InsertBefore(std::string text, std::string_view marker, std::string_view insertion) {
  const std::size_t at = text.find(marker);
  if (at == std::string::npos) throw std::runtime_error("marker not found");
  return text.insert(at, insertion);
}

}  // namespace dbproxy::saml_testing
