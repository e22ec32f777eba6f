// The SAML identity providers of agent.toml ([[saml_idp]]) as the verifier uses them: splitting a
// certificate file into the single certificates SamlPolicy pins, picking the provider that
// verifies an assertion, and turning a verified assertion into saml.* policy attributes.
//
// Pure: the agent reads the certificate files and the clock and passes them in. Thread-safe.
// Secrets: an assertion is a bearer credential; no verdict reason contains it (saml.hpp).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/result.hpp"
#include "common/identity/saml.hpp"
#include "common/policy/rules.hpp"

namespace dbproxy {

// Largest certificate file read ([[saml_idp]] certificate_file).
inline constexpr std::size_t kMaxSamlCertificateFileBytes = std::size_t{1} << 20;

// One [[saml_idp]]: its name and the policy its assertions must satisfy.
struct SamlProvider {
  std::string name{};
  SamlPolicy policy{};
};

// The "-----BEGIN CERTIFICATE-----" ... "-----END CERTIFICATE-----" blocks of `pem`, each with
// its own lines, in file order. Text outside blocks (openssl's "subject=" lines) is ignored.
// Errors (kInvalidRequest): no certificate, a block that is not a certificate (a private key
// does not belong in this file), a block without its END line. The certificates' contents are
// checked by ValidateSamlPolicy.
Result<std::vector<std::string>> SplitPemCertificates(std::string_view pem);

struct SamlVerdict {
  enum class Kind {
    kVerified,  // idp and saml are set
    kRefused,   // no provider accepts the assertion: answer 401 invalid_identity
    kFailed,    // the XML security library failed (SamlErrc::kInternal or kInvalidPolicy)
  };
  Kind kind = Kind::kRefused;
  // The provider that verified it; on kRefused the one whose certificate verified the signature
  // but that refused the assertion (expired, audience), else "".
  std::string idp{};
  VerifiedSaml saml{};
  std::string reason{};  // kRefused/kFailed: why, fit for the caller; never the assertion
};

// Verifies `assertion_base64` with each provider in turn (VerifySamlAssertion; its Issuer picks
// none in advance: nothing unverified steers the check) and returns the first that accepts it.
// A refusal that does not depend on the provider (malformed, unsafe structure, a refused
// algorithm) ends the search at once. When none accepts it, the reason is that of a provider
// whose certificate verified the signature (expired, not yet valid, wrong audience; then wrong
// issuer), else the first provider's. REQUIRES: every policy passed ValidateSamlPolicy, and
// there are at most a few providers (each costs a parse and a signature check).
SamlVerdict VerifyWithSamlProviders(std::span<const SamlProvider> providers,
                                    std::string_view assertion_base64, std::int64_t now_unix);

// The policy attributes of a verified assertion: "saml.issuer", "saml.name_id" (lists of one)
// and "saml.<name>" for each of its attributes. An assertion attribute named "issuer" or
// "name_id" is left out: it must not stand in for the verified Issuer or NameID.
SamlAttributes SamlPolicyAttributes(const VerifiedSaml& saml);

}  // namespace dbproxy
