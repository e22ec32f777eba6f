// Internal to ValidateSamlPolicy and VerifySamlAssertion (saml.hpp); not part of the public API.
// The checks a SamlPolicy must pass before any assertion is read against it: its fields, and each
// pinned certificate's key.
//
// Pure; thread-safe. Errors are kInvalidRequest, as ValidateSamlPolicy returns them.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/core/result.hpp"
#include "common/identity/openssl_ptr.hpp"
#include "common/identity/saml.hpp"

namespace dbproxy::saml_internal {

// Every field of `policy` but the certificates' contents, as ValidateSamlPolicy documents.
Status CheckPolicyFields(const SamlPolicy& policy);

// The public key of one PEM certificate, which must hold exactly one certificate with a key that
// is RSA of at least 2048 bits or EC of at least 256. `position` (from 1) names it in errors.
// Leaves OpenSSL's error queue to the caller's ErrorQueueGuard.
Result<EvpPkeyPtr> CertificateKey(std::string_view pem, std::size_t position);

}  // namespace dbproxy::saml_internal
