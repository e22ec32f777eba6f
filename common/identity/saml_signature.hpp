// Internal to VerifySamlAssertion (saml.hpp); not part of the public API. The assertion's XML
// signature: its shape checked before xmlsec reads it, then verified by xmlsec (OpenSSL backend)
// with the policy's pinned keys only. saml_signature.cpp also defines InitSamlVerifier (xmlsec
// initialised once) and ErrorSilencer (neither library prints the caller's document).
//
// Thread-safe once InitSamlVerifier has returned true: each call has its own contexts.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <libxml/tree.h>
#include <libxml/xmlerror.h>
// xmlsec.h first: the other xmlsec headers use its types without including it.
// clang-format off
#include <xmlsec/xmlsec.h>
#include <xmlsec/keys.h>
// clang-format on

#include "common/identity/saml.hpp"
#include "common/identity/saml_document.hpp"

namespace dbproxy::saml_internal {

struct SecKeyFree {
  void operator()(xmlSecKey* key) const noexcept { xmlSecKeyDestroy(key); }
};
using SecKeyPtr = std::unique_ptr<xmlSecKey, SecKeyFree>;

// While it lives, this thread's libxml2 error handlers drop every message; the previous ones
// are restored on destruction. (xmlsec's callback is process-wide: InitSamlVerifier sets it.)
class ErrorSilencer {
 public:
  ErrorSilencer();
  ~ErrorSilencer();
  ErrorSilencer(const ErrorSilencer&) = delete;
  ErrorSilencer& operator=(const ErrorSilencer&) = delete;

 private:
  xmlGenericErrorFunc generic_;
  void* generic_context_;
  xmlStructuredErrorFunc structured_;
  void* structured_context_;
};

// Appends the public key of each of policy.certificates_pem to `keys`, as an xmlsec key that
// holds no certificate. kInvalidPolicy when ValidateSamlPolicy would refuse `policy`; kInternal
// when xmlsec cannot allocate. REQUIRES: InitSamlVerifier() returned true.
Refusal LoadKeys(const SamlPolicy& policy, std::vector<SecKeyPtr>& keys);

// Checks the shape of the assertion's signature before xmlsec reads it (step 3 of
// VerifySamlAssertion) and sets `signature` to it. kBadSignature when there is none;
// kUnsafeStructure for another shape or a reference other than "#<id>"; kAlgorithmRefused for a
// method not allowed.
Refusal CheckSignatureShape(xmlNode* assertion, const std::string& id, xmlNode*& signature);

// Verifies `signature` with each of `keys` until one succeeds (kBadSignature when none does),
// then checks that its reference still resolves to `assertion` (kUnsafeStructure otherwise).
// REQUIRES: RegisterAssertionId set `id` and CheckSignatureShape passed.
Refusal VerifySignature(xmlDoc* doc, xmlNode* assertion, xmlNode* signature, const std::string& id,
                        const std::vector<SecKeyPtr>& keys);

}  // namespace dbproxy::saml_internal
