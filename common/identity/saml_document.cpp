// The SAML document up to its signature (saml_document.hpp): decoding, parsing, and the shape
// checks that leave signature wrapping nowhere to put a second assertion or a second ID.
#include "common/identity/saml_document.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

#include <libxml/hash.h>
#include <libxml/parser.h>
#include <libxml/valid.h>
#include <libxml/xmlerror.h>

#include "common/core/json_fields.hpp"

namespace dbproxy::saml_internal {
namespace {

constexpr std::size_t kMaxIdBytes = 256;

struct XmlParserCtxtFree {
  void operator()(xmlParserCtxt* ctxt) const noexcept { xmlFreeParserCtxt(ctxt); }
};
struct XmlStringFree {
  void operator()(xmlChar* text) const noexcept { xmlFree(text); }
};
using XmlParserCtxtPtr = std::unique_ptr<xmlParserCtxt, XmlParserCtxtFree>;
using XmlStringPtr = std::unique_ptr<xmlChar, XmlStringFree>;

// The value of one standard base64 digit; -1 for any other character.
int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
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

}  // namespace

SamlError Refuse(SamlErrc code, std::string reason) {
  return SamlError{.code = code, .reason = std::move(reason)};
}

std::string Shown(std::string_view value) {
  if (value.size() > 64 || !IsPrintableText(value)) return "";
  return " \"" + std::string(value) + "\"";
}

const xmlChar* XmlText(const char* text) {
  return reinterpret_cast<const xmlChar*>(text);
}

std::string_view View(const xmlChar* text) {
  return text == nullptr ? std::string_view() : reinterpret_cast<const char*>(text);
}

// Standard base64 (RFC 4648 section 4) with one spelling per byte string: '=' padding to a
// multiple of four characters, no whitespace, unused bits zero. The assertion is signed with a
// public key, so unlike base64url.cpp this need not hide its bytes from timing.
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

xmlNode* NextInTree(xmlNode* node, const xmlNode* root) {
  if (node->type == XML_ELEMENT_NODE && node->children != nullptr) return node->children;
  for (; node != root; node = node->parent) {
    if (node->next != nullptr) return node->next;
  }
  return nullptr;
}

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

}  // namespace dbproxy::saml_internal
