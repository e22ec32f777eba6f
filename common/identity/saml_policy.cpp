// A SAML identity provider's policy (saml_policy.hpp): its fields, and its pinned certificates,
// which are read only for their public keys.
#include "common/identity/saml_policy.hpp"

#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/core/json_fields.hpp"

namespace dbproxy::saml_internal {
namespace {

constexpr std::size_t kMaxEntityIdBytes = 1024;
constexpr std::size_t kMaxPemBytes = std::size_t{64} * 1024;

struct BioFree {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const noexcept { X509_free(cert); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

int NoPassword(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*user*/) {
  return 0;
}

Error BadPolicy(const std::string& what) {
  return MakeError(Errc::kInvalidRequest, what);
}

}  // namespace

Result<EvpPkeyPtr> CertificateKey(std::string_view pem, std::size_t position) {
  const std::string which = "certificate " + std::to_string(position);
  if (pem.size() > kMaxPemBytes) return BadPolicy(which + " is longer than 65536 bytes");
  const BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return BadPolicy(which + " cannot be read (out of memory)");
  const X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr));
  if (cert == nullptr) return BadPolicy(which + " is not a PEM certificate");
  if (X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr)) != nullptr) {
    return BadPolicy(which + " holds more than one certificate");
  }
  EvpPkeyPtr key(X509_get_pubkey(cert.get()));
  const int type = key == nullptr ? EVP_PKEY_NONE : EVP_PKEY_get_base_id(key.get());
  const int bits = key == nullptr ? 0 : EVP_PKEY_get_bits(key.get());
  if ((type == EVP_PKEY_RSA && bits >= 2048) || (type == EVP_PKEY_EC && bits >= 256)) return key;
  return BadPolicy(which + " has a key that is neither RSA of at least 2048 bits nor EC of at " +
                   "least 256 bits");
}

Status CheckPolicyFields(const SamlPolicy& policy) {
  if (policy.entity_id.empty() || policy.entity_id.size() > kMaxEntityIdBytes ||
      !IsPrintableText(policy.entity_id)) {
    return BadPolicy("entity_id must be non-empty printable text of at most 1024 bytes");
  }
  if (policy.certificates_pem.empty()) return BadPolicy("certificates must not be empty");
  if (policy.audiences.empty()) return BadPolicy("audiences must not be empty");
  for (const std::string& audience : policy.audiences) {
    if (audience.empty()) return BadPolicy("an audience is empty");
  }
  if (policy.clock_skew_seconds < 0 || policy.clock_skew_seconds > kMaxSamlClockSkewSeconds) {
    return BadPolicy("clock_skew_seconds must be between 0 and 600");
  }
  return Status::Ok();
}

}  // namespace dbproxy::saml_internal
