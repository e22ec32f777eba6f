// VerifySamlAssertion and ValidateSamlPolicy (saml.hpp) on libxml2 and xmlsec's OpenSSL backend,
// and the reading of a verified assertion's conditions, subject and attributes. The document's
// parse and shape are in saml_document.cpp, the signature in saml_signature.cpp, the policy's
// checks in saml_policy.cpp.
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
#include <optional>
#include <utility>

#include "common/core/duration.hpp"
#include "common/identity/openssl_ptr.hpp"
#include "common/identity/saml_document.hpp"
#include "common/identity/saml_policy.hpp"
#include "common/identity/saml_signature.hpp"

namespace dbproxy {
namespace saml_internal {
namespace {

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
    } else if (IsElement(condition, kSamlNs, "OneTimeUse")) {
      verified.one_time_use = true;
    } else if (!IsElement(condition, kSamlNs, "ProxyRestriction")) {
      return Refuse(SamlErrc::kMalformed, "unsupported condition" + Shown(View(condition->name)));
    }
  }
  if (restrictions == 0) return Refuse(SamlErrc::kWrongAudience, "assertion has no audience");
  verified.not_on_or_after = *window.not_on_or_after;
  verified.usable_until = *window.not_on_or_after + policy.clock_skew_seconds;
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
}  // namespace saml_internal

Status ValidateSamlPolicy(const SamlPolicy& policy) {
  const ErrorQueueGuard openssl_errors;
  if (Status fields = saml_internal::CheckPolicyFields(policy); !fields) return fields;
  for (std::size_t i = 0; i < policy.certificates_pem.size(); ++i) {
    Result<EvpPkeyPtr> key = saml_internal::CertificateKey(policy.certificates_pem[i], i + 1);
    if (!key) return std::move(key).error();
  }
  return Status::Ok();
}

SamlVerification VerifySamlAssertion(std::string_view base64_xml, const SamlPolicy& policy,
                                     std::int64_t now_unix) {
  using saml_internal::Refusal;
  using saml_internal::Refuse;
  const std::string too_large =
      "assertion is larger than " + std::to_string(kMaxSamlAssertionBytes) + " bytes";
  if (base64_xml.size() > kMaxSamlBase64Bytes) return Refuse(SamlErrc::kMalformed, too_large);
  const std::optional<std::string> xml = saml_internal::DecodeBase64(base64_xml);
  if (!xml) return Refuse(SamlErrc::kMalformed, "assertion is not canonical base64");
  if (xml->size() > kMaxSamlAssertionBytes) return Refuse(SamlErrc::kMalformed, too_large);
  if (!InitSamlVerifier()) {
    return Refuse(SamlErrc::kInternal, "the XML security library did not initialise");
  }
  const saml_internal::ErrorSilencer silencer;
  const ErrorQueueGuard openssl_errors;
  std::vector<saml_internal::SecKeyPtr> keys;
  if (Refusal refused = saml_internal::LoadKeys(policy, keys)) return *std::move(refused);

  saml_internal::XmlDocPtr doc;
  if (Refusal refused = saml_internal::Parse(*xml, doc)) return *std::move(refused);
  xmlNode* assertion = nullptr;
  if (Refusal refused = saml_internal::FindAssertion(doc.get(), assertion)) {
    return *std::move(refused);
  }
  std::string id;
  if (Refusal refused = saml_internal::RegisterAssertionId(doc.get(), assertion, id)) {
    return *std::move(refused);
  }
  xmlNode* signature = nullptr;
  if (Refusal refused = saml_internal::CheckSignatureShape(assertion, id, signature)) {
    return *std::move(refused);
  }
  if (Refusal refused = saml_internal::VerifySignature(doc.get(), assertion, signature, id, keys)) {
    return *std::move(refused);
  }
  return saml_internal::ReadAssertion(assertion, policy, now_unix, std::move(id));
}

}  // namespace dbproxy
