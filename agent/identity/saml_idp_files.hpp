// The SAML identity providers of agent.toml ([[saml_idp]]) made ready at start-up: each one's
// certificate file read and split, and its policy checked, so that a bad file stops the agent
// (and `dbproxyd check-config`) instead of failing every caller later.
// Threading: start-up only (blocking file reads).
#pragma once

#include <vector>

#include "common/core/config.hpp"
#include "common/core/result.hpp"
#include "common/identity/saml_providers.hpp"

namespace dbproxy {

// One SamlProvider per section, in order; initialises xmlsec (InitSamlVerifier) when there is
// any. Errors name the [[saml_idp]] and its certificate_file: unreadable (kNotFound, kInternal,
// or kPayloadTooLarge past kMaxSamlCertificateFileBytes), holding no certificate or something
// else (kInvalidRequest), a certificate ValidateSamlPolicy refuses (kInvalidRequest); kInternal
// when xmlsec cannot initialise. REQUIRES: `sections` passed ParseAgentConfig.
Result<std::vector<SamlProvider>> LoadSamlProviders(const std::vector<SamlIdpSection>& sections);

}  // namespace dbproxy
