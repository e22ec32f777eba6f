#include "common/identity/saml_providers.hpp"

#include <algorithm>
#include <utility>

#include "common/core/json_fields.hpp"

namespace dbproxy {
namespace {

constexpr std::string_view kPemBegin = "-----BEGIN ";
constexpr std::string_view kCertificateBegin = "-----BEGIN CERTIFICATE-----";
constexpr std::string_view kCertificateEnd = "-----END CERTIFICATE-----";
constexpr std::size_t kMaxSamlCertificates = 16;

// The label of the PEM block starting at `begin` ("PRIVATE KEY"), when short and printable.
std::string PemLabel(std::string_view pem, std::size_t begin) {
  const std::string_view rest = pem.substr(begin + kPemBegin.size());
  const std::string label(rest.substr(0, std::min(rest.find("-----"), std::size_t{40})));
  return IsPrintableText(label) ? " (" + label + ")" : "";
}

// How much a refusal says about the provider that gave it: a provider whose certificate
// verified the signature knows the assertion, and its reason is the one worth giving.
int RefusalWeight(SamlErrc code) {
  switch (code) {
    case SamlErrc::kExpired:
    case SamlErrc::kNotYetValid:
    case SamlErrc::kWrongAudience: return 2;
    case SamlErrc::kWrongIssuer: return 1;
    default: return 0;
  }
}

// Refusals that every provider would give alike.
bool ProviderIndependent(SamlErrc code) {
  return code == SamlErrc::kMalformed || code == SamlErrc::kUnsafeStructure ||
         code == SamlErrc::kAlgorithmRefused;
}

}  // namespace

Result<std::vector<std::string>> SplitPemCertificates(std::string_view pem) {
  std::vector<std::string> certificates;
  std::size_t at = 0;
  while ((at = pem.find(kPemBegin, at)) != std::string_view::npos) {
    if (!pem.substr(at).starts_with(kCertificateBegin)) {
      return MakeError(Errc::kInvalidRequest, "holds a PEM block that is not a certificate" +
                                                  PemLabel(pem, at));
    }
    const std::size_t end = pem.find(kCertificateEnd, at);
    const std::size_t next = pem.find(kPemBegin, at + kCertificateBegin.size());
    if (end == std::string_view::npos || next < end) {
      return MakeError(Errc::kInvalidRequest,
                       "certificate " + std::to_string(certificates.size() + 1) +
                           " has no END CERTIFICATE line");
    }
    if (certificates.size() == kMaxSamlCertificates) {
      return MakeError(Errc::kInvalidRequest, "holds more than " +
                                                  std::to_string(kMaxSamlCertificates) +
                                                  " certificates");
    }
    const std::size_t stop = end + kCertificateEnd.size();
    certificates.push_back(std::string(pem.substr(at, stop - at)) + "\n");
    at = stop;
  }
  if (certificates.empty()) return MakeError(Errc::kInvalidRequest, "holds no PEM certificate");
  return certificates;
}

SamlVerdict VerifyWithSamlProviders(std::span<const SamlProvider> providers,
                                    std::string_view assertion_base64, std::int64_t now_unix) {
  SamlVerdict refused;
  int refused_weight = -1;
  for (const SamlProvider& provider : providers) {
    SamlVerification checked = VerifySamlAssertion(assertion_base64, provider.policy, now_unix);
    if (checked) {
      return SamlVerdict{.kind = SamlVerdict::Kind::kVerified,
                         .idp = provider.name,
                         .saml = std::move(checked).value(),
                         .reason = {}};
    }
    const SamlError& error = checked.error();
    if (error.code == SamlErrc::kInternal || error.code == SamlErrc::kInvalidPolicy) {
      return SamlVerdict{.kind = SamlVerdict::Kind::kFailed,
                         .idp = provider.name,
                         .saml = {},
                         .reason = error.reason};
    }
    const int weight = RefusalWeight(error.code);
    if (weight > refused_weight) {
      refused_weight = weight;
      refused.reason = error.reason;
      refused.idp = weight == 2 ? provider.name : "";
    }
    if (ProviderIndependent(error.code)) break;
  }
  if (refused_weight < 0) refused.reason = "no SAML identity provider is configured";
  return refused;
}

SamlAttributes SamlPolicyAttributes(const VerifiedSaml& saml) {
  SamlAttributes attributes;
  attributes.emplace("saml.issuer", std::vector<std::string>{saml.issuer});
  attributes.emplace("saml.name_id", std::vector<std::string>{saml.name_id});
  for (const auto& [name, values] : saml.attributes) {
    if (name == "issuer" || name == "name_id") continue;
    attributes.emplace("saml." + name, values);
  }
  return attributes;
}

}  // namespace dbproxy
