// libFuzzer target for SAML assertions: VerifySamlAssertion against a fixed policy at a fixed
// time, given the input both as it is (base64 text) and base64-encoded (raw XML bytes, so that
// mutations reach the XML parser, the shape checks and the signature), through
// VerifyWithSamlProviders, then SamlPolicyAttributes; and SplitPemCertificates on the input.
// The pinned certificate's key is derived from a fixed label in make_seeds.py, whose signed
// assertions are seeds here, so mutations start from assertions that verify.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>

#include "common/core/json_fields.hpp"
#include "common/identity/saml.hpp"
#include "common/identity/saml_providers.hpp"

namespace {

constexpr std::int64_t kSamlFuzzNow = 1800000000;

// saml_fuzz_certificate() in make_seeds.py.
constexpr char kCertificate[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBHTCBw6ADAgECAgEBMAoGCCqGSM49BAMCMBgxFjAUBgNVBAMMDXNhbWxfZnV6\n"
    "eiBpZHAwHhcNMjYwMTAxMDAwMDAwWhcNMzYwMTAxMDAwMDAwWjAYMRYwFAYDVQQD\n"
    "DA1zYW1sX2Z1enogaWRwMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE+wY2I+A7\n"
    "FvnmjL/gtGkrr4gIEN/xlJ2dze/Ish7L9r7sZkEiVTSiexC+7W+22DKZRYhhnJ1O\n"
    "1Zeg4vvaP67sgjAKBggqhkjOPQQDAgNJADBGAiEAn8kNrAeR63ZHS1+bN3vHrrP1\n"
    "hseHYlqdlLHb2JPiKcACIQCYmcYSFRFQhApVlTjTV5yvkrsdJJYGclfVYgoAQFce\n"
    "jA==\n"
    "-----END CERTIFICATE-----\n";

const std::vector<dbproxy::SamlProvider>& Providers() {
  static const std::vector<dbproxy::SamlProvider>* const providers = [] {
    auto* made = new std::vector<dbproxy::SamlProvider>{dbproxy::SamlProvider{
        .name = "fuzz",
        .policy = dbproxy::SamlPolicy{.entity_id = "https://idp.example.com/saml",
                                      .certificates_pem = {kCertificate},
                                      .audiences = {"https://dbproxy.example.com"},
                                      .clock_skew_seconds = 60}}};
    if (!dbproxy::InitSamlVerifier() || !dbproxy::ValidateSamlPolicy(made->at(0).policy).ok()) {
      std::abort();
    }
    return made;
  }();
  return *providers;
}

std::string EncodeBase64(std::string_view bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int size = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                                   reinterpret_cast<const unsigned char*>(bytes.data()),
                                   static_cast<int>(bytes.size()));
  text.resize(static_cast<std::size_t>(size));
  return text;
}

void FuzzAssertion(std::string_view base64) {
  const dbproxy::SamlProvider& provider = Providers().at(0);
  const dbproxy::SamlVerdict verdict =
      dbproxy::VerifyWithSamlProviders(Providers(), base64, kSamlFuzzNow);
  if (verdict.kind == dbproxy::SamlVerdict::Kind::kFailed) std::abort();  // a valid policy
  if (verdict.kind == dbproxy::SamlVerdict::Kind::kRefused) {
    // Reasons go to logs, audit records and callers: one short printable line, never empty.
    const std::string& reason = verdict.reason;
    if (reason.empty() || reason.size() > 512 || !dbproxy::IsPrintableText(reason)) std::abort();
    if (base64.size() > 64 && reason.find(base64.substr(0, 64)) != std::string::npos) std::abort();
    return;
  }
  // What verified must hold what was checked.
  const dbproxy::VerifiedSaml& saml = verdict.saml;
  if (verdict.idp != provider.name || saml.issuer != provider.policy.entity_id) std::abort();
  if (saml.name_id.empty() || saml.assertion_id.empty()) std::abort();
  if (kSamlFuzzNow >= saml.not_on_or_after + provider.policy.clock_skew_seconds) std::abort();
  if (base64.size() > dbproxy::kMaxSamlBase64Bytes) std::abort();
  const dbproxy::SamlAttributes attributes = dbproxy::SamlPolicyAttributes(saml);
  const auto issuer = attributes.find("saml.issuer");
  if (issuer == attributes.end() || issuer->second != std::vector<std::string>{saml.issuer}) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  FuzzAssertion(text);
  if (size <= dbproxy::kMaxSamlAssertionBytes) FuzzAssertion(EncodeBase64(text));
  // A certificate file: every piece is one BEGIN..END CERTIFICATE block of the input.
  const dbproxy::Result<std::vector<std::string>> pieces = dbproxy::SplitPemCertificates(text);
  if (pieces) {
    for (const std::string& piece : *pieces) {
      if (!piece.starts_with("-----BEGIN CERTIFICATE-----") ||
          !piece.ends_with("-----END CERTIFICATE-----\n") ||
          text.find(std::string_view(piece).substr(0, piece.size() - 1)) == std::string::npos) {
        std::abort();
      }
    }
  }
  return 0;
}
