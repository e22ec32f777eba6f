#include "tests/fake_workspace/cert_gen.hpp"

#include <stdexcept>
#include <string_view>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

namespace dbproxy::fake {
namespace {

constexpr long kValidBeforeNowSeconds = 3600;  // tolerate small clock differences
constexpr long kValidForSeconds = 7L * 24 * 3600;

[[noreturn]] void ThrowOpenSslError(std::string_view what) {
  char reason[256] = "unknown error";
  if (const unsigned long code = ERR_get_error(); code != 0) {
    ERR_error_string_n(code, reason, sizeof reason);
  }
  throw std::runtime_error(std::string(what) + ": " + reason);
}

void Check(int ok, std::string_view what) {
  if (ok != 1) ThrowOpenSslError(what);
}

EvpPkeyPtr GenerateP256Key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), &EVP_PKEY_free);
  if (!key) ThrowOpenSslError("EC key generation");
  return key;
}

void SetRandomSerial(X509* cert) {
  std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(BN_new(), &BN_free);
  if (!serial) ThrowOpenSslError("BN_new");
  // 127 bits keeps the DER INTEGER positive and under RFC 5280's 20-octet limit.
  Check(BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "BN_rand");
  if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
    ThrowOpenSslError("serial number");
  }
}

void SetCommonName(X509_NAME* name, const char* common_name) {
  Check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0),
        "subject name");
}

// Adds one extension written in x509v3_config(5) syntax. `issuer` must already carry its
// subjectKeyIdentifier when `value` asks for authorityKeyIdentifier.
void AddExtension(X509* issuer, X509* cert, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, decltype(&X509_EXTENSION_free)> extension(
      X509V3_EXT_conf_nid(nullptr, &context, nid, value), &X509_EXTENSION_free);
  if (!extension) ThrowOpenSslError(value);
  Check(X509_add_ext(cert, extension.get(), -1), "X509_add_ext");
}

// A certificate for `key` named `common_name`, issued by `issuer` (nullptr: self-issued), with
// validity and serial set, ready for extensions and signing.
X509Ptr NewCertificate(EVP_PKEY* key, const char* common_name, X509* issuer) {
  X509Ptr cert(X509_new(), &X509_free);
  if (!cert) ThrowOpenSslError("X509_new");
  Check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");
  SetRandomSerial(cert.get());
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kValidBeforeNowSeconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValidForSeconds) == nullptr) {
    ThrowOpenSslError("validity");
  }
  Check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");
  SetCommonName(X509_get_subject_name(cert.get()), common_name);
  X509* const issuing = issuer != nullptr ? issuer : cert.get();
  Check(X509_set_issuer_name(cert.get(), X509_get_subject_name(issuing)), "issuer name");
  return cert;
}

}  // namespace

TlsIdentity GenerateTlsIdentity() {
  EvpPkeyPtr ca_key = GenerateP256Key();
  X509Ptr ca = NewCertificate(ca_key.get(), "dbproxy fake workspace CA", nullptr);
  AddExtension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  AddExtension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(ca.get(), ca_key.get(), EVP_sha256()) == 0) ThrowOpenSslError("sign CA");

  EvpPkeyPtr server_key = GenerateP256Key();
  X509Ptr server = NewCertificate(server_key.get(), "localhost", ca.get());
  AddExtension(ca.get(), server.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(ca.get(), server.get(), NID_key_usage, "critical,digitalSignature");
  AddExtension(ca.get(), server.get(), NID_ext_key_usage, "serverAuth");
  AddExtension(ca.get(), server.get(), NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  AddExtension(ca.get(), server.get(), NID_subject_key_identifier, "hash");
  AddExtension(ca.get(), server.get(), NID_authority_key_identifier, "keyid:always");
  if (X509_sign(server.get(), ca_key.get(), EVP_sha256()) == 0) ThrowOpenSslError("sign server");

  // ca_key goes out of scope here: nothing can issue further certificates.
  return TlsIdentity{std::move(ca), std::move(server), std::move(server_key)};
}

std::string CertificateToPem(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio) ThrowOpenSslError("BIO_new");
  Check(PEM_write_bio_X509(bio.get(), cert), "PEM_write_bio_X509");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  if (size <= 0 || data == nullptr) ThrowOpenSslError("BIO_get_mem_data");
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace dbproxy::fake
