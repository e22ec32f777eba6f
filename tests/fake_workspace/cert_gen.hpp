// A throwaway PKI for the fake workspace: a self-signed EC P-256 CA and a server certificate for
// 127.0.0.1/localhost signed by it. Generated fresh at every start; private keys never leave
// memory, only the CA certificate is written out for clients to trust.
#pragma once

#include <memory>
#include <string>

#include <openssl/evp.h>
#include <openssl/x509.h>

namespace dbproxy::fake {

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

struct TlsIdentity {
  X509Ptr ca_cert{nullptr, &X509_free};
  X509Ptr server_cert{nullptr, &X509_free};
  EvpPkeyPtr server_key{nullptr, &EVP_PKEY_free};
};

// Generates the CA and server certificate, valid from one hour ago for seven days.
// Throws std::runtime_error with OpenSSL's reason if any step fails.
TlsIdentity GenerateTlsIdentity();

// `cert` in PEM form. Throws std::runtime_error on failure.
std::string CertificateToPem(X509* cert);

}  // namespace dbproxy::fake
