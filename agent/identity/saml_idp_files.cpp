#include "agent/identity/saml_idp_files.hpp"

#include <string>
#include <utility>

#include "common/identity/saml.hpp"
#include "common/os/files.hpp"

namespace dbproxy {

Result<std::vector<SamlProvider>> LoadSamlProviders(const std::vector<SamlIdpSection>& sections) {
  std::vector<SamlProvider> providers;
  if (sections.empty()) return providers;
  if (!InitSamlVerifier()) {
    return MakeError(Errc::kInternal, "the XML security library (xmlsec) did not initialise");
  }
  for (const SamlIdpSection& section : sections) {
    const std::string idp = "[[saml_idp]] '" + section.name + "': ";
    Result<std::string> pem = ReadFileText(section.certificate_file, kMaxSamlCertificateFileBytes);
    if (!pem) {
      Error error = std::move(pem).error();
      error.message = idp + "certificate_file: " + error.message;
      return error;
    }
    const std::string file = "certificate_file " + section.certificate_file + " ";
    Result<std::vector<std::string>> certificates = SplitPemCertificates(*pem);
    if (!certificates) {
      return MakeError(Errc::kInvalidRequest, idp + file + certificates.error().message);
    }
    SamlProvider provider{.name = section.name,
                          .policy = SamlPolicy{.entity_id = section.entity_id,
                                               .certificates_pem = std::move(*certificates),
                                               .audiences = section.audiences,
                                               .clock_skew_seconds = section.clock_skew_seconds}};
    if (Status valid = ValidateSamlPolicy(provider.policy); !valid) {
      return MakeError(Errc::kInvalidRequest, idp + file + "is refused: " + valid.error().message);
    }
    providers.push_back(std::move(provider));
  }
  return providers;
}

}  // namespace dbproxy
