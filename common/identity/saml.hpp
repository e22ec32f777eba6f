// SAML 2.0 assertions (OASIS SAML core, XML Signature 1.1): checking a signed assertion against
// an identity provider's pinned certificates and a policy, and reading its subject and
// attributes.
//
// A caller may present an assertion (header X-Dbproxy-SAML-Assertion, base64); its attributes
// become policy attributes (saml.<name>). It never replaces the kernel's identity of the caller.
// The agent reads the certificates from its configuration and passes them and the time in; this
// file does no file or network I/O.
//
// What it resists: XML signature wrapping (a second, unsigned assertion beside, inside or
// around the signed one, or the signed one moved where nobody reads it), comment truncation of
// the NameID ("admin@corp<!---->.evil.com"), external entities and DTDs, keys offered by the
// document itself, SHA-1 and other weak algorithms, and oversized input.
//
// Secrets: an assertion is a bearer credential. No reason produced here contains the assertion
// or its signature; a value from it (issuer, audience) appears only when short and printable.
// Thread-safe: libxml2 and xmlsec are initialised once (InitSamlVerifier); each call has its own
// document and contexts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/core/result.hpp"

namespace dbproxy {

// Largest decoded assertion accepted, and so the largest base64 text (4 characters per 3 bytes).
inline constexpr std::size_t kMaxSamlAssertionBytes = std::size_t{64} * 1024;
inline constexpr std::size_t kMaxSamlBase64Bytes = (kMaxSamlAssertionBytes + 2) / 3 * 4;
inline constexpr std::int64_t kMaxSamlClockSkewSeconds = 600;

// What one identity provider's assertions must satisfy. Validate with ValidateSamlPolicy when
// read from config.
struct SamlPolicy {
  std::string entity_id{};                      // the assertion's Issuer must equal this
  std::vector<std::string> certificates_pem{};  // one PEM certificate each; any may have signed
  std::vector<std::string> audiences{};         // each AudienceRestriction must name one
  std::int64_t clock_skew_seconds = 60;         // allowance on every time condition
};

// OK when entity_id is non-empty printable text of at most 1024 bytes; certificates_pem is
// non-empty and each entry is exactly one PEM X.509 certificate whose key is RSA of at least
// 2048 bits or EC of at least 256 bits; audiences is non-empty with non-empty entries; and
// clock_skew_seconds is in [0, kMaxSamlClockSkewSeconds]. Certificates are pinned keys: their
// validity dates and issuers are not checked. Errors: kInvalidRequest naming the field (and the
// certificate's position, counted from 1).
Status ValidateSamlPolicy(const SamlPolicy& policy);

// Why an assertion was refused.
enum class SamlErrc {
  kMalformed,         // not strict base64, too large, not well-formed XML, has a DOCTYPE, or an
                      // element or attribute the checks need is missing or invalid
  kUnsafeStructure,   // a shape used by signature wrapping or comment truncation: several
                      // assertions, a signature that is not the assertion's own or whose
                      // reference is not the assertion, another element claiming its ID, or a
                      // comment or element inside a value that is read
  kAlgorithmRefused,  // canonicalisation, transform, digest or signature method not allowed
  kBadSignature,      // unsigned, or no configured certificate verifies the signature
  kExpired,           // now >= NotOnOrAfter + skew (Conditions or SubjectConfirmationData)
  kNotYetValid,       // now < NotBefore - skew, or IssueInstant > now + skew
  kWrongIssuer,       // Issuer is not the policy's entity_id
  kWrongAudience,     // an AudienceRestriction names none of the policy's audiences, or none
  kInvalidPolicy,     // the policy is unusable (ValidateSamlPolicy refuses it): configuration
  kInternal,          // libxml2 or xmlsec could not initialise or allocate
};

struct SamlError {
  SamlErrc code = SamlErrc::kMalformed;
  // For logs and for the caller: "assertion expired at 2026-01-02T03:04:05Z".
  std::string reason{};
};

struct VerifiedSaml {
  std::string issuer{};                                          // equals policy.entity_id
  std::string name_id{};                                         // Subject/NameID, whole text
  std::string assertion_id{};                                    // for a replay cache
  std::int64_t not_on_or_after = 0;                              // Conditions, seconds since epoch
  // Conditions' NotOnOrAfter plus the policy's clock skew: no later than this the assertion
  // stops verifying (what a replay cache keeps it for).
  std::int64_t usable_until = 0;
  bool one_time_use = false;  // Conditions holds OneTimeUse: the caller must refuse a replay
  std::map<std::string, std::vector<std::string>> attributes{};  // Attribute Name -> values
};

// VerifySamlAssertion's answer: a VerifiedSaml or a SamlError (Result<T> carries only
// dbproxy::Error).
class [[nodiscard]] SamlVerification {
 public:
  SamlVerification(VerifiedSaml value) : state_(std::move(value)) {}  // NOLINT: implicit
  SamlVerification(SamlError error) : state_(std::move(error)) {}     // NOLINT: implicit

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  // REQUIRES: has_value().
  const VerifiedSaml& value() const& { return std::get<0>(state_); }
  VerifiedSaml&& value() && { return std::get<0>(std::move(state_)); }
  const VerifiedSaml& operator*() const& { return value(); }
  const VerifiedSaml* operator->() const { return &value(); }
  // REQUIRES: !has_value().
  const SamlError& error() const& { return std::get<1>(state_); }

 private:
  std::variant<VerifiedSaml, SamlError> state_;
};

// Initialises libxml2 and xmlsec (OpenSSL backend) once per process, thread-safely, with their
// error output silenced. VerifySamlAssertion calls it; call it at start-up to fail early.
// Returns false when xmlsec cannot initialise (then every verification is kInternal).
bool InitSamlVerifier();

// Checks `base64_xml` against `policy` at `now_unix`, in this order (nothing is read from the
// assertion until its signature holds); a policy ValidateSamlPolicy refuses is kInvalidPolicy:
//   1. at most kMaxSamlBase64Bytes of canonical base64 (RFC 4648 section 4, '=' padding, no
//      whitespace) of at most kMaxSamlAssertionBytes, parsed as UTF-8 XML without network, DTD
//      loading or entity substitution; a DOCTYPE is refused (kMalformed);
//   2. the document is one saml:Assertion, or one samlp:Response whose child is the only
//      assertion; no other element named Assertion or EncryptedAssertion anywhere; the
//      assertion's ID is an NCName and is the document's only ID (kUnsafeStructure);
//   3. a ds:Signature (kBadSignature when none): exactly one in the assertion, its direct child,
//      holding SignedInfo, SignatureValue and at most KeyInfo, with one Reference whose URI is
//      "#<ID>" (kUnsafeStructure); exclusive c14n, transforms enveloped-signature and exclusive
//      c14n only, SHA-256 digest, RSA-SHA256 or ECDSA-SHA256 (kAlgorithmRefused otherwise);
//   4. the signature verifies with one of policy.certificates_pem, never a key or certificate
//      from KeyInfo (kBadSignature), and the element its reference resolved to is that
//      assertion (kUnsafeStructure);
//   5. Version "2.0"; Issuer equals entity_id; IssueInstant <= now + skew; Conditions with
//      NotOnOrAfter (now < NotOnOrAfter + skew), NotBefore when present (now >= NotBefore -
//      skew), at least one AudienceRestriction and each naming a policy audience, and no
//      condition but those, OneTimeUse and ProxyRestriction; Subject with one NameID; every
//      SubjectConfirmationData's NotBefore and NotOnOrAfter when present. Times are UTC
//      xs:dateTime ("2026-01-02T03:04:05Z", fractions rounded toward refusal).
// Issuer, NameID, Audience and AttributeValue must be text only: a comment, element or
// processing instruction inside one is kUnsafeStructure, and the text read is all of it. An
// Attribute Name repeated, or an EncryptedAttribute, BaseID or EncryptedID, is kMalformed.
// Not checked here: Recipient and InResponseTo (no SP-initiated flow) and OneTimeUse, which is
// reported (one_time_use) for the caller's replay cache (saml_replay.hpp), keyed by issuer and
// assertion_id.
SamlVerification VerifySamlAssertion(std::string_view base64_xml, const SamlPolicy& policy,
                                     std::int64_t now_unix);

}  // namespace dbproxy
