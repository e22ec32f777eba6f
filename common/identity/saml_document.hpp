// Internal to VerifySamlAssertion (saml.hpp); not part of the public API. The SAML document
// before its signature is checked: strict base64, a libxml2 parse that refuses DTDs, and the
// shape checks against signature wrapping (one assertion, its ID the document's only ID). Also
// the small readers and the refusal helpers that saml.cpp and saml_signature.cpp share.
//
// Pure; thread-safe as long as each call works on its own document.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <libxml/tree.h>

#include "common/identity/saml.hpp"

namespace dbproxy::saml_internal {

inline constexpr std::string_view kSamlNs = "urn:oasis:names:tc:SAML:2.0:assertion";
inline constexpr std::string_view kSamlpNs = "urn:oasis:names:tc:SAML:2.0:protocol";

struct XmlDocFree {
  void operator()(xmlDoc* doc) const noexcept { xmlFreeDoc(doc); }
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocFree>;

// A step's answer: nullopt to go on, or why the assertion is refused.
using Refusal = std::optional<SamlError>;

SamlError Refuse(SamlErrc code, std::string reason);

// A value from the document, quoted for a reason when short and printable; otherwise nothing.
std::string Shown(std::string_view value);

// Casts between C strings and libxml2's xmlChar; View(nullptr) is empty.
const xmlChar* XmlText(const char* text);
std::string_view View(const xmlChar* text);

// Standard base64 (RFC 4648 section 4) with one spelling per byte string: '=' padding to a
// multiple of four characters, no whitespace, unused bits zero. nullopt for anything else.
std::optional<std::string> DecodeBase64(std::string_view text);

// Parses `xml` as UTF-8 without network, DTD loading or entity substitution into `doc`. A
// DOCTYPE or XML that is not well-formed is kMalformed; an allocation failure kInternal.
Refusal Parse(const std::string& xml, XmlDocPtr& doc);

// Whether `node` is the element `name` in namespace `ns`.
bool IsElement(const xmlNode* node, std::string_view ns, std::string_view name);
// The element children of `parent`, all of them or only those named `name` in `ns`.
std::vector<xmlNode*> ElementChildren(const xmlNode* parent);
std::vector<xmlNode*> Children(const xmlNode* parent, std::string_view ns, std::string_view name);
// The node after `node` in document order, staying under `root`.
xmlNode* NextInTree(xmlNode* node, const xmlNode* root);
// The attribute `name` in no namespace; nullopt when absent.
std::optional<std::string> Attribute(const xmlNode* element, const char* name);
// The whole text of an element that must hold only text; nullopt when it holds anything else
// (see saml_document.cpp for why that is refused, not skipped).
std::optional<std::string> TextOnly(const xmlNode* element);
// The kUnsafeStructure refusal for `what` when TextOnly failed.
SamlError NotTextOnly(const std::string& what);

// Sets `assertion` to the document's one assertion: the root, or the root samlp:Response's
// direct child. kUnsafeStructure when any other element is named Assertion or
// EncryptedAssertion; kMalformed for any other document.
Refusal FindAssertion(xmlDoc* doc, xmlNode*& assertion);

// Registers the assertion's ID (an ASCII NCName of at most 256 bytes, else kMalformed) as the
// document's only ID and sets `id` to it. kUnsafeStructure when the parse registered another
// ID (xml:id).
Refusal RegisterAssertionId(xmlDoc* doc, xmlNode* assertion, std::string& id);

}  // namespace dbproxy::saml_internal
