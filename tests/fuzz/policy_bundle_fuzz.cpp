// libFuzzer target for signed policy bundles (common/policy/policy_bundle). The input is split
// at NUL bytes: the first part is read as a public key, a signing key file and a policy.sig; the
// other parts are (name, text) pairs of policy files. Invariants:
//   - each text form has one spelling: whatever parses writes back to the same bytes;
//   - a bundle signed with a fixed key verifies, and stops verifying when a file changes, when
//     a file is added, or when the signature comes from another key;
//   - BundleBytes does not depend on the order files are given in (for distinct names);
//   - the fuzzed policy.sig never verifies the files unless it is the genuine signature.
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/policy/policy_bundle.hpp"

namespace {

using dbproxy::PolicySource;

std::string Base64(std::string_view bytes) {
  std::string text(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(text.data(), text.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  text.pop_back();  // the NUL
  return text;
}

// The signing key file of a key pair made from a fixed seed.
std::string KeyFile(unsigned char seed_byte) {
  std::array<unsigned char, crypto_sign_SEEDBYTES> seed{};
  seed.fill(seed_byte);
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> public_key{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> secret_key{};
  crypto_sign_seed_keypair(public_key.data(), secret_key.data(), seed.data());
  return "dbproxy-policy-signing-key-v1\n" +
         Base64({reinterpret_cast<const char*>(secret_key.data()), secret_key.size()}) + "\n";
}

void CheckTextForms(std::string_view text) {
  if (const auto key = dbproxy::ParsePublicKey(text)) {
    if (key->size() != 32 || "ed25519:" + Base64(*key) != text) std::abort();
  }
  if (const auto secret = dbproxy::ParseSigningKey(text)) {
    const auto bytes = secret->bytes();
    const std::string_view raw(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if ("dbproxy-policy-signing-key-v1\n" + Base64(raw) + "\n" != text) std::abort();
    if (!dbproxy::PublicKeyOf(*secret)) std::abort();
  }
  if (const auto signature = dbproxy::ParseSignatureFile(text)) {
    const std::string rebuilt = "dbproxy-policy-signature-v1\nkey " + signature->public_key +
                                "\nsig " + Base64(signature->signature) + "\n";
    if (rebuilt != text) std::abort();
  }
}

std::vector<PolicySource> ParseFiles(std::string_view text) {
  std::vector<PolicySource> files;
  while (!text.empty()) {
    const std::size_t end_name = text.find('\0');
    PolicySource file{std::string(text.substr(0, end_name)), {}};
    text = end_name == std::string_view::npos ? std::string_view() : text.substr(end_name + 1);
    const std::size_t end_text = text.find('\0');
    file.text = std::string(text.substr(0, end_text));
    text = end_text == std::string_view::npos ? std::string_view() : text.substr(end_text + 1);
    files.push_back(std::move(file));
  }
  return files;
}

void CheckSigning(std::vector<PolicySource> files, std::string_view fuzzed_signature) {
  static const dbproxy::SecretBytes kKey = *dbproxy::ParseSigningKey(KeyFile(7));
  static const dbproxy::SecretBytes kOtherKey = *dbproxy::ParseSigningKey(KeyFile(8));
  static const std::vector<std::string> kTrusted = {*dbproxy::PublicKeyOf(kKey)};
  const auto signature = dbproxy::SignBundle(files, kKey);
  if (!signature || !dbproxy::VerifyBundle(files, *signature, kTrusted)) std::abort();
  if (dbproxy::VerifyBundle(files, *dbproxy::SignBundle(files, kOtherKey), kTrusted)) std::abort();
  if (dbproxy::VerifyBundle(files, fuzzed_signature, kTrusted) && fuzzed_signature != *signature) {
    std::abort();  // Ed25519 signatures are deterministic: only the genuine one verifies
  }

  std::set<std::string> names;
  for (const PolicySource& file : files) names.insert(file.name);
  if (names.size() == files.size()) {
    std::vector<PolicySource> reversed(files.rbegin(), files.rend());
    if (dbproxy::BundleBytes(reversed) != dbproxy::BundleBytes(files)) std::abort();
  }
  for (const PolicySource& file : dbproxy::WithBaseNames(files)) {
    if (file.name.find('/') != std::string::npos) std::abort();
  }
  if (!files.empty()) {
    files.front().text += 'x';
    if (dbproxy::VerifyBundle(files, *signature, kTrusted)) std::abort();
    files.front().text.pop_back();
  }
  files.push_back({"99-added.toml", ""});
  if (dbproxy::VerifyBundle(files, *signature, kTrusted)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool initialised = sodium_init() >= 0;
  if (!initialised) std::abort();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string_view head = input.substr(0, nul);
  CheckTextForms(head);
  const std::string_view rest =
      nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  CheckSigning(ParseFiles(rest), head);
  return 0;
}
