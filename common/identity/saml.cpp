// VerifySamlAssertion and ValidateSamlPolicy (saml.hpp) on libxml2 and xmlsec's OpenSSL backend.
//
// The order is the defence against signature wrapping: the document's shape is checked before
// xmlsec sees it (one assertion, one signature that is its child, one reference to its ID, the
// ID registered on it alone, allowed algorithms only); the signature is verified with the pinned
// keys only; and everything is then read from the one element the reference resolved to.
#include "common/identity/saml.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include <libxml/hash.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <libxml/xmlerror.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
// xmlsec.h first: the other xmlsec headers use its types without including it.
// clang-format off
#include <xmlsec/xmlsec.h>
#include <xmlsec/errors.h>
#include <xmlsec/keys.h>
#include <xmlsec/list.h>
#include <xmlsec/openssl/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
// clang-format on

#include "common/core/json_fields.hpp"
#include "common/identity/openssl_ptr.hpp"

namespace dbproxy {
namespace {

constexpr std::string_view kSamlNs = "urn:oasis:names:tc:SAML:2.0:assertion";
constexpr std::string_view kSamlpNs = "urn:oasis:names:tc:SAML:2.0:protocol";
constexpr std::string_view kDsigNs = "http://www.w3.org/2000/09/xmldsig#";
constexpr std::string_view kExcC14n = "http://www.w3.org/2001/10/xml-exc-c14n#";
constexpr std::string_view kEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
constexpr std::string_view kSha256 = "http://www.w3.org/2001/04/xmlenc#sha256";
constexpr std::string_view kRsaSha256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
constexpr std::string_view kEcdsaSha256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
constexpr std::size_t kMaxIdBytes = 256;
constexpr std::size_t kMaxEntityIdBytes = 1024;
constexpr std::size_t kMaxPemBytes = std::size_t{64} * 1024;

struct XmlDocFree {
  void operator()(xmlDoc* doc) const noexcept { xmlFreeDoc(doc); }
};
struct XmlParserCtxtFree {
  void operator()(xmlParserCtxt* ctxt) const noexcept { xmlFreeParserCtxt(ctxt); }
};
struct XmlStringFree {
  void operator()(xmlChar* text) const noexcept { xmlFree(text); }
};
struct DsigCtxFree {
  void operator()(xmlSecDSigCtx* ctx) const noexcept { xmlSecDSigCtxDestroy(ctx); }
};
struct SecKeyFree {
  void operator()(xmlSecKey* key) const noexcept { xmlSecKeyDestroy(key); }
};
struct BioFree {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const noexcept { X509_free(cert); }
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocFree>;
using XmlParserCtxtPtr = std::unique_ptr<xmlParserCtxt, XmlParserCtxtFree>;
using XmlStringPtr = std::unique_ptr<xmlChar, XmlStringFree>;
using DsigCtxPtr = std::unique_ptr<xmlSecDSigCtx, DsigCtxFree>;
using SecKeyPtr = std::unique_ptr<xmlSecKey, SecKeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

using Refusal = std::optional<SamlError>;

SamlError Refuse(SamlErrc code, std::string reason) {
  return SamlError{.code = code, .reason = std::move(reason)};
}

// A value from the document, quoted for a reason when short and printable; otherwise nothing.
std::string Shown(std::string_view value) {
  if (value.size() > 64 || !IsPrintableText(value)) return "";
  return " \"" + std::string(value) + "\"";
}

std::string FormatUtc(std::int64_t seconds) {
  using std::chrono::days;
  const std::chrono::sys_seconds time{std::chrono::seconds(seconds)};
  const auto day = std::chrono::floor<days>(time);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss clock{time - day};
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%04d-%02u-%02uT%02d:%02d:%02dZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(clock.hours().count()),
                static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()));
  return text.data();
}

const xmlChar* XmlText(const char* text) {
  return reinterpret_cast<const xmlChar*>(text);
}

std::string_view View(const xmlChar* text) {
  return text == nullptr ? std::string_view() : reinterpret_cast<const char*>(text);
}

// Both libraries would otherwise print to stderr (the agent's journal), with fragments of the
// caller's document. xmlsec has one process-wide callback; libxml2 keeps its handlers per thread,
// so ErrorSilencer replaces them for the duration of one verification.
void DropXmlsecError(const char* /*file*/, int /*line*/, const char* /*func*/,
                     const char* /*object*/, const char* /*subject*/, int /*reason*/,
                     const char* /*message*/) {}
void DropGenericError(void* /*context*/, const char* /*format*/, ...) {}  // NOLINT: C varargs
void DropStructuredError(void* /*context*/, xmlErrorPtr /*error*/) {}

class ErrorSilencer {
 public:
  ErrorSilencer()
      : generic_(xmlGenericError),
        generic_context_(xmlGenericErrorContext),
        structured_(xmlStructuredError),
        structured_context_(xmlStructuredErrorContext) {
    xmlSetGenericErrorFunc(nullptr, DropGenericError);
    xmlSetStructuredErrorFunc(nullptr, DropStructuredError);
  }
  ~ErrorSilencer() {
    xmlSetGenericErrorFunc(generic_context_, generic_);
    xmlSetStructuredErrorFunc(structured_context_, structured_);
  }
  ErrorSilencer(const ErrorSilencer&) = delete;
  ErrorSilencer& operator=(const ErrorSilencer&) = delete;

 private:
  xmlGenericErrorFunc generic_;
  void* generic_context_;
  xmlStructuredErrorFunc structured_;
  void* structured_context_;
};

// Standard base64 (RFC 4648 section 4) with one spelling per byte string: '=' padding to a
// multiple of four characters, no whitespace, unused bits zero. The assertion is signed with a
// public key, so unlike base64url.cpp this need not hide its bytes from timing.
int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::optional<std::string> DecodeBase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  const std::size_t padding = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
  std::string bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (std::size_t at = 0; at < text.size(); at += 4) {
    const bool last = at + 4 == text.size();
    const std::size_t digits = last ? 4 - padding : 4;
    std::uint32_t group = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      const int value = i < digits ? Base64Value(text[at + i]) : 0;
      if (value < 0) return std::nullopt;
      group = (group << 6) | static_cast<std::uint32_t>(value);
    }
    if (last && (group & ((1U << (8 * padding)) - 1)) != 0) return std::nullopt;
    for (std::size_t i = 0; i < digits - 1; ++i) {
      bytes.push_back(static_cast<char>((group >> (16 - 8 * i)) & 0xFF));
    }
  }
  return bytes;
}

// Called by libxml2 on "<!DOCTYPE": stop before the internal subset (entity declarations, the
// billion-laughs expansion, external DTD references) is read.
void RefuseDoctype(void* user_data, const xmlChar* /*name*/, const xmlChar* /*external_id*/,
                   const xmlChar* /*system_id*/) {
  auto* ctxt = static_cast<xmlParserCtxt*>(user_data);
  *static_cast<bool*>(ctxt->_private) = true;
  xmlStopParser(ctxt);
}

std::string ParseErrorDetail(xmlParserCtxt* ctxt) {
  const xmlError* error = xmlCtxtGetLastError(ctxt);
  if (error == nullptr || error->message == nullptr) return "";
  std::string message = error->message;
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  const std::string line = "line " + std::to_string(error->line);
  if (message.size() > 120 || !IsPrintableText(message)) return " (" + line + ")";
  return " (" + line + ": " + message + ")";
}

Refusal Parse(const std::string& xml, XmlDocPtr& doc) {
  const XmlParserCtxtPtr ctxt(xmlNewParserCtxt());
  if (ctxt == nullptr) return Refuse(SamlErrc::kInternal, "cannot allocate an XML parser");
  bool has_doctype = false;
  ctxt->_private = &has_doctype;
  ctxt->sax->internalSubset = RefuseDoctype;
  // Not XML_PARSE_NOENT (entity substitution), DTDLOAD, DTDATTR, DTDVALID, XINCLUDE or HUGE.
  // NOCDATA turns CDATA into text, as canonicalisation does; the encoding is fixed to UTF-8.
  constexpr int kOptions =
      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
  doc.reset(xmlCtxtReadMemory(ctxt.get(), xml.data(), static_cast<int>(xml.size()), nullptr,
                              "UTF-8", kOptions));
  if (has_doctype || (doc != nullptr && (doc->intSubset != nullptr || doc->extSubset != nullptr))) {
    return Refuse(SamlErrc::kMalformed, "assertion has a DOCTYPE (DTDs and entities are refused)");
  }
  if (doc == nullptr || ctxt->wellFormed == 0) {
    return Refuse(SamlErrc::kMalformed,
                  "assertion is not well-formed XML" + ParseErrorDetail(ctxt.get()));
  }
  return std::nullopt;
}

bool IsElement(const xmlNode* node, std::string_view ns, std::string_view name) {
  return node != nullptr && node->type == XML_ELEMENT_NODE && node->ns != nullptr &&
         View(node->ns->href) == ns && View(node->name) == name;
}

std::vector<xmlNode*> ElementChildren(const xmlNode* parent) {
  std::vector<xmlNode*> children;
  for (xmlNode* child = parent->children; child != nullptr; child = child->next) {
    if (child->type == XML_ELEMENT_NODE) children.push_back(child);
  }
  return children;
}

std::vector<xmlNode*> Children(const xmlNode* parent, std::string_view ns, std::string_view name) {
  std::vector<xmlNode*> children = ElementChildren(parent);
  std::erase_if(children, [&](const xmlNode* child) { return !IsElement(child, ns, name); });
  return children;
}

// The node after `node` in document order, staying under `root`.
xmlNode* NextInTree(xmlNode* node, const xmlNode* root) {
  if (node->type == XML_ELEMENT_NODE && node->children != nullptr) return node->children;
  for (; node != root; node = node->parent) {
    if (node->next != nullptr) return node->next;
  }
  return nullptr;
}

// The attribute `name` in no namespace; nullopt when absent.
std::optional<std::string> Attribute(const xmlNode* element, const char* name) {
  const XmlStringPtr value(xmlGetNoNsProp(element, XmlText(name)));
  if (value == nullptr) return std::nullopt;
  return std::string(View(value.get()));
}

// The whole text of an element that must hold only text. A comment, element or processing
// instruction inside is refused, not skipped: exclusive c14n drops comments, so
// "admin@corp<!---->.evil.com" verifies as the IdP's "admin@corp.evil.com", and a reader taking
// the first text node would see "admin@corp".
std::optional<std::string> TextOnly(const xmlNode* element) {
  std::string text;
  for (const xmlNode* child = element->children; child != nullptr; child = child->next) {
    if (child->type != XML_TEXT_NODE && child->type != XML_CDATA_SECTION_NODE) return std::nullopt;
    text += View(child->content);
  }
  return text;
}

SamlError NotTextOnly(const std::string& what) {
  return Refuse(SamlErrc::kUnsafeStructure,
                what + " holds a comment or an element (only text is accepted)");
}

// The assertion: the root, or the root samlp:Response's child. Any second element named
// Assertion (in any namespace, encrypted or not, at any depth) is refused: that is where every
// wrapping attack puts the copy it wants read.
Refusal FindAssertion(xmlDoc* doc, xmlNode*& assertion) {
  xmlNode* root = xmlDocGetRootElement(doc);
  if (root == nullptr) return Refuse(SamlErrc::kMalformed, "document has no root element");
  std::size_t assertions = 0;
  for (xmlNode* node = root; node != nullptr; node = NextInTree(node, root)) {
    const std::string_view name = View(node->name);
    if (node->type == XML_ELEMENT_NODE && (name == "Assertion" || name == "EncryptedAssertion")) {
      ++assertions;
    }
  }
  if (assertions > 1) {
    return Refuse(SamlErrc::kUnsafeStructure,
                  "document holds " + std::to_string(assertions) + " assertions (one is accepted)");
  }
  if (IsElement(root, kSamlNs, "Assertion")) {
    assertion = root;
    return std::nullopt;
  }
  if (!IsElement(root, kSamlpNs, "Response")) {
    return Refuse(SamlErrc::kMalformed, "document is neither a SAML 2.0 Assertion nor a Response");
  }
  for (xmlNode* child : ElementChildren(root)) {
    if (IsElement(child, kSamlNs, "Assertion")) {
      assertion = child;
      return std::nullopt;
    }
    if (IsElement(child, kSamlNs, "EncryptedAssertion")) {
      return Refuse(SamlErrc::kMalformed, "encrypted assertions are not supported");
    }
  }
  if (assertions == 1) {
    return Refuse(SamlErrc::kUnsafeStructure, "the response's assertion is not its direct child");
  }
  return Refuse(SamlErrc::kMalformed, "response holds no assertion");
}

// ASCII NCNames only: what IdPs generate, and nothing the xpointer(id('...')) xmlsec builds from
// the reference could split (id() takes a space-separated list) or escape from.
bool IsSimpleNcName(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  const auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  if (!letter(id.front()) && id.front() != '_') return false;
  return std::all_of(id.begin(), id.end(), [&](char c) {
    return letter(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

// The reference "#<ID>" resolves through the document's ID table. The assertion's ID must be its
// only entry: libxml2 registers xml:id attributes while parsing, and an element elsewhere
// claiming the same value would otherwise be what the reference names.
Refusal RegisterAssertionId(xmlDoc* doc, xmlNode* assertion, std::string& id) {
  xmlAttr* attr = xmlHasNsProp(assertion, XmlText("ID"), nullptr);
  const std::optional<std::string> value = Attribute(assertion, "ID");
  if (attr == nullptr || !value || !IsSimpleNcName(*value)) {
    return Refuse(SamlErrc::kMalformed, "assertion has no ID of letters, digits, '_', '-', '.'");
  }
  if (doc->ids != nullptr && xmlHashSize(static_cast<xmlHashTable*>(doc->ids)) != 0) {
    return Refuse(SamlErrc::kUnsafeStructure, "document declares other IDs (xml:id)");
  }
  if (xmlAddID(nullptr, doc, XmlText(value->c_str()), attr) == nullptr) {
    return Refuse(SamlErrc::kInternal, "cannot register the assertion's ID");
  }
  id = *value;
  return std::nullopt;
}

Refusal CheckAlgorithm(const xmlNode* element, std::initializer_list<std::string_view> allowed,
                       const std::string& what) {
  const std::optional<std::string> algorithm = Attribute(element, "Algorithm");
  if (algorithm && std::find(allowed.begin(), allowed.end(), *algorithm) != allowed.end()) {
    return std::nullopt;
  }
  return Refuse(SamlErrc::kAlgorithmRefused,
                what + Shown(algorithm.value_or("")) + " is not allowed");
}

// Reference: URI "#<ID>"; Transforms of enveloped-signature and exclusive c14n, each at most
// once; DigestMethod SHA-256; DigestValue.
Refusal CheckReference(const xmlNode* reference, const std::string& id) {
  if (Attribute(reference, "URI") != "#" + id) {
    return Refuse(SamlErrc::kUnsafeStructure, "the signature's reference is not the assertion");
  }
  const std::vector<xmlNode*> parts = ElementChildren(reference);
  std::size_t next = 0;
  if (!parts.empty() && IsElement(parts[0], kDsigNs, "Transforms")) {
    std::set<std::string> seen;
    for (const xmlNode* transform : ElementChildren(parts[0])) {
      if (!IsElement(transform, kDsigNs, "Transform")) {
        return Refuse(SamlErrc::kUnsafeStructure, "Transforms holds an unexpected element");
      }
      if (Refusal refused = CheckAlgorithm(transform, {kEnveloped, kExcC14n}, "transform")) {
        return refused;
      }
      if (!seen.insert(*Attribute(transform, "Algorithm")).second) {
        return Refuse(SamlErrc::kAlgorithmRefused, "a transform is repeated");
      }
    }
    next = 1;
  }
  if (parts.size() != next + 2 || !IsElement(parts[next], kDsigNs, "DigestMethod") ||
      !IsElement(parts[next + 1], kDsigNs, "DigestValue")) {
    return Refuse(SamlErrc::kUnsafeStructure,
                  "Reference must hold Transforms, DigestMethod and DigestValue");
  }
  return CheckAlgorithm(parts[next], {kSha256}, "digest method");
}

// The assertion's own signature, checked before xmlsec reads it: one ds:Signature in the whole
// assertion, its direct child, of SignedInfo, SignatureValue and at most KeyInfo (no Object, so
// no Manifest and nowhere to hide a copy); SignedInfo of exclusive c14n, RSA- or ECDSA-SHA256
// and one Reference.
Refusal CheckSignatureShape(xmlNode* assertion, const std::string& id, xmlNode*& signature) {
  std::vector<xmlNode*> found;
  for (xmlNode* node = assertion; node != nullptr; node = NextInTree(node, assertion)) {
    if (IsElement(node, kDsigNs, "Signature")) found.push_back(node);
  }
  if (found.empty()) return Refuse(SamlErrc::kBadSignature, "assertion is not signed");
  if (found.size() > 1 || found.front()->parent != assertion) {
    return Refuse(SamlErrc::kUnsafeStructure,
                  "the assertion must hold exactly one Signature, as its direct child");
  }
  signature = found.front();
  const std::vector<xmlNode*> parts = ElementChildren(signature);
  if (parts.size() < 2 || parts.size() > 3 || !IsElement(parts[0], kDsigNs, "SignedInfo") ||
      !IsElement(parts[1], kDsigNs, "SignatureValue") ||
      (parts.size() == 3 && !IsElement(parts[2], kDsigNs, "KeyInfo"))) {
    return Refuse(SamlErrc::kUnsafeStructure,
                  "Signature must hold SignedInfo, SignatureValue and at most KeyInfo");
  }
  const std::vector<xmlNode*> info = ElementChildren(parts[0]);
  if (info.size() != 3 || !IsElement(info[0], kDsigNs, "CanonicalizationMethod") ||
      !IsElement(info[1], kDsigNs, "SignatureMethod") ||
      !IsElement(info[2], kDsigNs, "Reference")) {
    return Refuse(SamlErrc::kUnsafeStructure,
                  "SignedInfo must hold CanonicalizationMethod, SignatureMethod and one Reference");
  }
  if (Refusal refused = CheckAlgorithm(info[0], {kExcC14n}, "canonicalization method")) {
    return refused;
  }
  if (Refusal refused = CheckAlgorithm(info[1], {kRsaSha256, kEcdsaSha256}, "signature method")) {
    return refused;
  }
  return CheckReference(info[2], id);
}

int NoPassword(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*user*/) {
  return 0;
}

Error BadPolicy(const std::string& what) {
  return MakeError(Errc::kInvalidRequest, what);
}

// The public key of one PEM certificate: RSA of at least 2048 bits, or EC of at least 256.
Result<EvpPkeyPtr> CertificateKey(std::string_view pem, std::size_t position) {
  const std::string which = "certificate " + std::to_string(position);
  if (pem.size() > kMaxPemBytes) return BadPolicy(which + " is longer than 65536 bytes");
  const BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return BadPolicy(which + " cannot be read (out of memory)");
  const X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr));
  if (cert == nullptr) return BadPolicy(which + " is not a PEM certificate");
  if (X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr)) != nullptr) {
    return BadPolicy(which + " holds more than one certificate");
  }
  EvpPkeyPtr key(X509_get_pubkey(cert.get()));
  const int type = key == nullptr ? EVP_PKEY_NONE : EVP_PKEY_get_base_id(key.get());
  const int bits = key == nullptr ? 0 : EVP_PKEY_get_bits(key.get());
  if ((type == EVP_PKEY_RSA && bits >= 2048) || (type == EVP_PKEY_EC && bits >= 256)) return key;
  return BadPolicy(which + " has a key that is neither RSA of at least 2048 bits nor EC of at " +
                   "least 256 bits");
}

Status CheckPolicyFields(const SamlPolicy& policy) {
  if (policy.entity_id.empty() || policy.entity_id.size() > kMaxEntityIdBytes ||
      !IsPrintableText(policy.entity_id)) {
    return BadPolicy("entity_id must be non-empty printable text of at most 1024 bytes");
  }
  if (policy.certificates_pem.empty()) return BadPolicy("certificates must not be empty");
  if (policy.audiences.empty()) return BadPolicy("audiences must not be empty");
  for (const std::string& audience : policy.audiences) {
    if (audience.empty()) return BadPolicy("an audience is empty");
  }
  if (policy.clock_skew_seconds < 0 || policy.clock_skew_seconds > kMaxSamlClockSkewSeconds) {
    return BadPolicy("clock_skew_seconds must be between 0 and 600");
  }
  return Status::Ok();
}

// The policy's keys as xmlsec keys holding only the public key: no certificate, so nothing in
// xmlsec can chain, match or replace them with one from the document.
Refusal LoadKeys(const SamlPolicy& policy, std::vector<SecKeyPtr>& keys) {
  const auto invalid = [](const Error& error) {
    return Refuse(SamlErrc::kInvalidPolicy, "identity provider policy: " + error.message);
  };
  if (Status fields = CheckPolicyFields(policy); !fields) return invalid(fields.error());
  for (std::size_t i = 0; i < policy.certificates_pem.size(); ++i) {
    Result<EvpPkeyPtr> public_key = CertificateKey(policy.certificates_pem[i], i + 1);
    if (!public_key) return invalid(public_key.error());
    xmlSecKeyDataPtr data = xmlSecOpenSSLEvpKeyAdopt(public_key->get());
    if (data == nullptr) return Refuse(SamlErrc::kInternal, "cannot load a certificate's key");
    (void)public_key->release();  // owned by `data` now
    SecKeyPtr key(xmlSecKeyCreate());
    if (key == nullptr || xmlSecKeySetValue(key.get(), data) < 0) {
      xmlSecKeyDataDestroy(data);
      return Refuse(SamlErrc::kInternal, "cannot load a certificate's key");
    }
    keys.push_back(std::move(key));
  }
  return std::nullopt;
}

// The allowed algorithms again, inside xmlsec: a second line behind CheckSignatureShape.
bool RestrictContext(xmlSecDSigCtx* ctx) {
  ctx->flags |= XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
  ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
  return xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId) == 0 &&
         xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecOpenSSLTransformRsaSha256Id) == 0 &&
         xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecOpenSSLTransformEcdsaSha256Id) == 0 &&
         xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId) == 0 &&
         xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId) == 0 &&
         xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecOpenSSLTransformSha256Id) == 0;
}

// What xmlsec verified: one SignedInfo reference, to `uri`, with the allowed methods.
bool VerifiedOnly(xmlSecDSigCtx* ctx, const std::string& uri) {
  if (ctx->status != xmlSecDSigStatusSucceeded ||
      xmlSecPtrListGetSize(&ctx->signedInfoReferences) != 1) {
    return false;
  }
  const auto* reference =
      static_cast<xmlSecDSigReferenceCtx*>(xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0));
  return reference != nullptr && reference->status == xmlSecDSigStatusSucceeded &&
         View(reference->uri) == uri && reference->digestMethod != nullptr &&
         reference->digestMethod->id == xmlSecOpenSSLTransformSha256Id &&
         ctx->c14nMethod != nullptr && ctx->c14nMethod->id == xmlSecTransformExclC14NId &&
         ctx->signMethod != nullptr &&
         (ctx->signMethod->id == xmlSecOpenSSLTransformRsaSha256Id ||
          ctx->signMethod->id == xmlSecOpenSSLTransformEcdsaSha256Id);
}

bool VerifiesWith(xmlNode* signature, xmlSecKey* key, const std::string& uri) {
  const DsigCtxPtr ctx(xmlSecDSigCtxCreate(nullptr));
  if (ctx == nullptr || !RestrictContext(ctx.get())) return false;
  // With the key set beforehand xmlsec never reads KeyInfo: a certificate the document carries
  // is not trusted, and not even parsed.
  ctx->signKey = xmlSecKeyDuplicate(key);
  if (ctx->signKey == nullptr) return false;
  return xmlSecDSigCtxVerify(ctx.get(), signature) == 0 && VerifiedOnly(ctx.get(), uri);
}

Refusal VerifySignature(xmlDoc* doc, xmlNode* assertion, xmlNode* signature, const std::string& id,
                        const std::vector<SecKeyPtr>& keys) {
  const std::string uri = "#" + id;
  const bool verified = std::any_of(keys.begin(), keys.end(), [&](const SecKeyPtr& key) {
    return VerifiesWith(signature, key.get(), uri);
  });
  if (!verified) {
    return Refuse(SamlErrc::kBadSignature,
                  "signature does not verify with the identity provider's certificates");
  }
  // xmlsec resolved the reference through the ID table (xpointer id()); it must still name this
  // element, so what is read next is what was verified.
  const xmlAttr* attr = xmlGetID(doc, XmlText(id.c_str()));
  if (attr == nullptr || attr->parent != assertion) {
    return Refuse(SamlErrc::kUnsafeStructure, "the signed element is not the assertion");
  }
  return std::nullopt;
}

// A SAML time (core section 1.3.3): xs:dateTime in UTC, "YYYY-MM-DDThh:mm:ss[.fff]Z", years
// 1970-9999. A fraction rounds up when `round_up` (NotBefore, IssueInstant) and is dropped
// otherwise (NotOnOrAfter), so it never extends validity.
std::optional<std::int64_t> ParseSamlTime(std::string_view text, bool round_up) {
  if (text.size() < 20 || text.size() > 30 || text.back() != 'Z') return std::nullopt;
  const auto number = [&](std::size_t at, std::size_t length) {
    int value = 0;
    for (const char c : text.substr(at, length)) {
      if (c < '0' || c > '9') return -1;
      value = value * 10 + (c - '0');
    }
    return value;
  };
  const int year = number(0, 4);
  const int month = number(5, 2);
  const int day = number(8, 2);
  const int hour = number(11, 2);
  const int minute = number(14, 2);
  const int second = number(17, 2);
  if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      year < 1970 || month < 0 || day < 0 || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
      second < 0 || second > 59) {
    return std::nullopt;
  }
  const std::string_view fraction = text.substr(19, text.size() - 20);  // at most 9 digits
  if (!fraction.empty() &&
      (fraction.size() < 2 || fraction[0] != '.' || number(20, fraction.size() - 1) < 0)) {
    return std::nullopt;
  }
  const bool fraction_counts =
      round_up && fraction.find_first_of("123456789") != std::string_view::npos;
  const std::chrono::year_month_day date{std::chrono::year{year},
                                         std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  const std::chrono::sys_seconds time = std::chrono::sys_days{date} + std::chrono::hours{hour} +
                                        std::chrono::minutes{minute} +
                                        std::chrono::seconds{second + (fraction_counts ? 1 : 0)};
  return time.time_since_epoch().count();
}

// The time attribute `name` of `element` into `out` (nullopt when absent).
Refusal ReadTime(const xmlNode* element, const char* name, bool round_up,
                 std::optional<std::int64_t>& out) {
  const std::optional<std::string> text = Attribute(element, name);
  if (!text) return std::nullopt;
  out = ParseSamlTime(*text, round_up);
  if (!out) {
    return Refuse(SamlErrc::kMalformed, std::string(name) + " is not a UTC xs:dateTime");
  }
  return std::nullopt;
}

struct Window {
  std::optional<std::int64_t> not_before;
  std::optional<std::int64_t> not_on_or_after;
};

Refusal ReadWindow(const xmlNode* element, std::int64_t now, std::int64_t skew,
                   const std::string& what, Window& window) {
  if (Refusal refused = ReadTime(element, "NotBefore", /*round_up=*/true, window.not_before)) {
    return refused;
  }
  if (Refusal refused =
          ReadTime(element, "NotOnOrAfter", /*round_up=*/false, window.not_on_or_after)) {
    return refused;
  }
  // Dates are at most year 9999 and skew at most 600 s: no overflow.
  if (window.not_on_or_after && now >= *window.not_on_or_after + skew) {
    return Refuse(SamlErrc::kExpired, what + " expired at " + FormatUtc(*window.not_on_or_after));
  }
  if (window.not_before && now < *window.not_before - skew) {
    return Refuse(SamlErrc::kNotYetValid,
                  what + " is not valid before " + FormatUtc(*window.not_before));
  }
  return std::nullopt;
}

Refusal CheckAudienceRestriction(const xmlNode* restriction, const SamlPolicy& policy) {
  for (const xmlNode* audience : ElementChildren(restriction)) {
    if (!IsElement(audience, kSamlNs, "Audience")) {
      return Refuse(SamlErrc::kMalformed, "AudienceRestriction holds something but Audience");
    }
    const std::optional<std::string> text = TextOnly(audience);
    if (!text) return NotTextOnly("Audience");
    if (std::find(policy.audiences.begin(), policy.audiences.end(), *text) !=
        policy.audiences.end()) {
      return std::nullopt;
    }
  }
  return Refuse(SamlErrc::kWrongAudience, "audience mismatch");
}

Refusal CheckConditions(const xmlNode* assertion, const SamlPolicy& policy, std::int64_t now,
                        VerifiedSaml& verified) {
  const std::vector<xmlNode*> conditions = Children(assertion, kSamlNs, "Conditions");
  if (conditions.size() != 1) {
    return Refuse(SamlErrc::kMalformed, "assertion must have one Conditions element");
  }
  Window window;
  if (Refusal refused =
          ReadWindow(conditions[0], now, policy.clock_skew_seconds, "assertion", window)) {
    return refused;
  }
  if (!window.not_on_or_after) {
    return Refuse(SamlErrc::kMalformed, "Conditions has no NotOnOrAfter");
  }
  std::size_t restrictions = 0;
  for (const xmlNode* condition : ElementChildren(conditions[0])) {
    if (IsElement(condition, kSamlNs, "AudienceRestriction")) {
      ++restrictions;
      if (Refusal refused = CheckAudienceRestriction(condition, policy)) return refused;
    } else if (!IsElement(condition, kSamlNs, "OneTimeUse") &&
               !IsElement(condition, kSamlNs, "ProxyRestriction")) {
      return Refuse(SamlErrc::kMalformed, "unsupported condition" + Shown(View(condition->name)));
    }
  }
  if (restrictions == 0) return Refuse(SamlErrc::kWrongAudience, "assertion has no audience");
  verified.not_on_or_after = *window.not_on_or_after;
  return std::nullopt;
}

Refusal ReadSubject(const xmlNode* assertion, std::int64_t now, std::int64_t skew,
                    VerifiedSaml& verified) {
  const std::vector<xmlNode*> subjects = Children(assertion, kSamlNs, "Subject");
  if (subjects.size() != 1) return Refuse(SamlErrc::kMalformed, "assertion must have one Subject");
  std::size_t names = 0;
  for (const xmlNode* part : ElementChildren(subjects[0])) {
    if (IsElement(part, kSamlNs, "NameID")) {
      std::optional<std::string> text = TextOnly(part);
      if (!text) return NotTextOnly("NameID");
      verified.name_id = std::move(*text);
      ++names;
    } else if (IsElement(part, kSamlNs, "SubjectConfirmation")) {
      for (const xmlNode* data : Children(part, kSamlNs, "SubjectConfirmationData")) {
        Window window;
        if (Refusal refused = ReadWindow(data, now, skew, "subject confirmation", window)) {
          return refused;
        }
      }
    } else {
      return Refuse(SamlErrc::kMalformed, "only a NameID subject is supported");
    }
  }
  if (names != 1 || verified.name_id.empty()) {
    return Refuse(SamlErrc::kMalformed, "Subject must have one non-empty NameID");
  }
  return std::nullopt;
}

Refusal ReadAttribute(const xmlNode* attribute, VerifiedSaml& verified) {
  if (!IsElement(attribute, kSamlNs, "Attribute")) {
    return Refuse(SamlErrc::kMalformed, "AttributeStatement holds something but Attribute");
  }
  const std::optional<std::string> name = Attribute(attribute, "Name");
  if (!name || name->empty()) return Refuse(SamlErrc::kMalformed, "an Attribute has no Name");
  std::vector<std::string> values;
  for (const xmlNode* value : ElementChildren(attribute)) {
    if (!IsElement(value, kSamlNs, "AttributeValue")) {
      return Refuse(SamlErrc::kMalformed, "Attribute holds something but AttributeValue");
    }
    std::optional<std::string> text = TextOnly(value);
    if (!text) return NotTextOnly("a value of attribute" + Shown(*name));
    values.push_back(std::move(*text));
  }
  if (!verified.attributes.emplace(*name, std::move(values)).second) {
    return Refuse(SamlErrc::kMalformed, "attribute" + Shown(*name) + " appears twice");
  }
  return std::nullopt;
}

Refusal CheckHeader(const xmlNode* assertion, const SamlPolicy& policy, std::int64_t now,
                    VerifiedSaml& verified) {
  if (Attribute(assertion, "Version") != "2.0") {
    return Refuse(SamlErrc::kMalformed, "assertion Version is not 2.0");
  }
  std::optional<std::int64_t> issued;
  if (Refusal refused = ReadTime(assertion, "IssueInstant", /*round_up=*/true, issued)) {
    return refused;
  }
  if (!issued) return Refuse(SamlErrc::kMalformed, "assertion has no IssueInstant");
  if (*issued - policy.clock_skew_seconds > now) {
    return Refuse(SamlErrc::kNotYetValid,
                  "assertion issued in the future (" + FormatUtc(*issued) + ")");
  }
  const std::vector<xmlNode*> issuers = Children(assertion, kSamlNs, "Issuer");
  if (issuers.size() != 1) return Refuse(SamlErrc::kMalformed, "assertion must have one Issuer");
  std::optional<std::string> issuer = TextOnly(issuers[0]);
  if (!issuer) return NotTextOnly("Issuer");
  if (*issuer != policy.entity_id) {
    return Refuse(SamlErrc::kWrongIssuer,
                  "issuer" + Shown(*issuer) + " is not the configured entity ID");
  }
  verified.issuer = std::move(*issuer);
  return std::nullopt;
}

// Reads the verified assertion. REQUIRES: its signature verified (VerifySignature).
SamlVerification ReadAssertion(const xmlNode* assertion, const SamlPolicy& policy, std::int64_t now,
                               std::string id) {
  VerifiedSaml verified;
  verified.assertion_id = std::move(id);
  if (Refusal refused = CheckHeader(assertion, policy, now, verified)) return *std::move(refused);
  if (Refusal refused = CheckConditions(assertion, policy, now, verified)) {
    return *std::move(refused);
  }
  if (Refusal refused = ReadSubject(assertion, now, policy.clock_skew_seconds, verified)) {
    return *std::move(refused);
  }
  for (const xmlNode* statement : Children(assertion, kSamlNs, "AttributeStatement")) {
    for (const xmlNode* attribute : ElementChildren(statement)) {
      if (IsElement(attribute, kSamlNs, "EncryptedAttribute")) {
        return Refuse(SamlErrc::kMalformed, "encrypted attributes are not supported");
      }
      if (Refusal refused = ReadAttribute(attribute, verified)) return *std::move(refused);
    }
  }
  return verified;
}

}  // namespace

Status ValidateSamlPolicy(const SamlPolicy& policy) {
  const ErrorQueueGuard openssl_errors;
  if (Status fields = CheckPolicyFields(policy); !fields) return fields;
  for (std::size_t i = 0; i < policy.certificates_pem.size(); ++i) {
    Result<EvpPkeyPtr> key = CertificateKey(policy.certificates_pem[i], i + 1);
    if (!key) return std::move(key).error();
  }
  return Status::Ok();
}

bool InitSamlVerifier() {
  static std::once_flag once;
  static bool ready = false;
  std::call_once(once, [] {
    xmlInitParser();
    const ErrorSilencer silencer;
    // Not xmlSecOpenSSLAppInit: it loads openssl.cnf (file I/O), and OpenSSL 3 initialises
    // itself. xmlSecInit also installs a process-wide external entity loader that refuses
    // network and file entities. xmlSecOpenSSLInit installs its own error callback, which
    // prints, so ours is set after it.
    ready = xmlSecInit() == 0 && xmlSecCheckVersion() == 1 && xmlSecOpenSSLInit() == 0;
    xmlSecErrorsSetCallback(DropXmlsecError);
  });
  return ready;
}

SamlVerification VerifySamlAssertion(std::string_view base64_xml, const SamlPolicy& policy,
                                     std::int64_t now_unix) {
  const std::string too_large =
      "assertion is larger than " + std::to_string(kMaxSamlAssertionBytes) + " bytes";
  if (base64_xml.size() > kMaxSamlBase64Bytes) return Refuse(SamlErrc::kMalformed, too_large);
  const std::optional<std::string> xml = DecodeBase64(base64_xml);
  if (!xml) return Refuse(SamlErrc::kMalformed, "assertion is not canonical base64");
  if (xml->size() > kMaxSamlAssertionBytes) return Refuse(SamlErrc::kMalformed, too_large);
  if (!InitSamlVerifier()) {
    return Refuse(SamlErrc::kInternal, "the XML security library did not initialise");
  }
  const ErrorSilencer silencer;
  const ErrorQueueGuard openssl_errors;
  std::vector<SecKeyPtr> keys;
  if (Refusal refused = LoadKeys(policy, keys)) return *std::move(refused);

  XmlDocPtr doc;
  if (Refusal refused = Parse(*xml, doc)) return *std::move(refused);
  xmlNode* assertion = nullptr;
  if (Refusal refused = FindAssertion(doc.get(), assertion)) return *std::move(refused);
  std::string id;
  if (Refusal refused = RegisterAssertionId(doc.get(), assertion, id)) return *std::move(refused);
  xmlNode* signature = nullptr;
  if (Refusal refused = CheckSignatureShape(assertion, id, signature)) {
    return *std::move(refused);
  }
  if (Refusal refused = VerifySignature(doc.get(), assertion, signature, id, keys)) {
    return *std::move(refused);
  }
  return ReadAssertion(assertion, policy, now_unix, std::move(id));
}

}  // namespace dbproxy
