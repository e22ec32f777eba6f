// The assertion's signature (saml_signature.hpp): a shape check that leaves xmlsec one signature,
// one reference and the allowed algorithms only, then xmlsec's verification with each pinned key,
// then a check that what it verified is the assertion that will be read.
#include "common/identity/saml_signature.hpp"

#include <algorithm>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include <libxml/parser.h>
#include <libxml/valid.h>
// xmlsec.h first: the other xmlsec headers use its types without including it.
// clang-format off
#include <xmlsec/xmlsec.h>
#include <xmlsec/errors.h>
#include <xmlsec/list.h>
#include <xmlsec/openssl/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
// clang-format on

#include "common/identity/openssl_ptr.hpp"
#include "common/identity/saml_policy.hpp"

namespace dbproxy::saml_internal {
namespace {

constexpr std::string_view kDsigNs = "http://www.w3.org/2000/09/xmldsig#";
constexpr std::string_view kExcC14n = "http://www.w3.org/2001/10/xml-exc-c14n#";
constexpr std::string_view kEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
constexpr std::string_view kSha256 = "http://www.w3.org/2001/04/xmlenc#sha256";
constexpr std::string_view kRsaSha256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
constexpr std::string_view kEcdsaSha256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";

struct DsigCtxFree {
  void operator()(xmlSecDSigCtx* ctx) const noexcept { xmlSecDSigCtxDestroy(ctx); }
};
using DsigCtxPtr = std::unique_ptr<xmlSecDSigCtx, DsigCtxFree>;

// Both libraries would otherwise print to stderr (the agent's journal), with fragments of the
// caller's document. xmlsec has one process-wide callback; libxml2 keeps its handlers per thread,
// so ErrorSilencer replaces them for the duration of one verification.
void DropXmlsecError(const char* /*file*/, int /*line*/, const char* /*func*/,
                     const char* /*object*/, const char* /*subject*/, int /*reason*/,
                     const char* /*message*/) {}
void DropGenericError(void* /*context*/, const char* /*format*/, ...) {}  // NOLINT: C varargs
void DropStructuredError(void* /*context*/, xmlErrorPtr /*error*/) {}

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

}  // namespace

ErrorSilencer::ErrorSilencer()
    : generic_(xmlGenericError),
      generic_context_(xmlGenericErrorContext),
      structured_(xmlStructuredError),
      structured_context_(xmlStructuredErrorContext) {
  xmlSetGenericErrorFunc(nullptr, DropGenericError);
  xmlSetStructuredErrorFunc(nullptr, DropStructuredError);
}

ErrorSilencer::~ErrorSilencer() {
  xmlSetGenericErrorFunc(generic_context_, generic_);
  xmlSetStructuredErrorFunc(structured_context_, structured_);
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

}  // namespace dbproxy::saml_internal

namespace dbproxy {

bool InitSamlVerifier() {
  static std::once_flag once;
  static bool ready = false;
  std::call_once(once, [] {
    xmlInitParser();
    const saml_internal::ErrorSilencer silencer;
    // Not xmlSecOpenSSLAppInit: it loads openssl.cnf (file I/O), and OpenSSL 3 initialises
    // itself. xmlSecInit also installs a process-wide external entity loader that refuses
    // network and file entities. xmlSecOpenSSLInit installs its own error callback, which
    // prints, so ours is set after it.
    ready = xmlSecInit() == 0 && xmlSecCheckVersion() == 1 && xmlSecOpenSSLInit() == 0;
    xmlSecErrorsSetCallback(saml_internal::DropXmlsecError);
  });
  return ready;
}

}  // namespace dbproxy
