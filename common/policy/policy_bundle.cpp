#include "common/policy/policy_bundle.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>

namespace dbproxy {
namespace {

constexpr int kVariant = sodium_base64_VARIANT_ORIGINAL;
constexpr std::string_view kBundleMagic = "dbproxy-policy-bundle-v1\n";
constexpr std::string_view kKeyFileHeader = "dbproxy-policy-signing-key-v1\n";
constexpr std::string_view kSignatureHeader = "dbproxy-policy-signature-v1\n";
constexpr std::string_view kPublicPrefix = "ed25519:";
constexpr std::size_t kMaxSignatureFile = 1024;

// Base64 text length (without NUL) of `size` bytes.
constexpr std::size_t Base64Length(std::size_t size) {
  return sodium_base64_ENCODED_LEN(size, kVariant) - 1;
}

std::string EncodeBase64(std::span<const unsigned char> bytes) {
  std::string text(Base64Length(bytes.size()) + 1, '\0');
  sodium_bin2base64(text.data(), text.size(), bytes.data(), bytes.size(), kVariant);
  text.pop_back();
  return text;
}

// Decodes `text`, which must be exactly the padded base64 of out.size() bytes. libsodium
// rejects non-zero padding bits and, with no end pointer, any byte it does not consume, so only
// the canonical form is accepted.
// libsodium 1.0.18 decodes some bytes outside the alphabet (0x80 and above) as alphabet
// characters, so the alphabet is checked first (without an early exit: the text may be a key).
bool DecodeExact(std::string_view text, std::span<unsigned char> out) {
  if (text.size() != Base64Length(out.size())) return false;
  bool alphabet = true;
  for (const char c : text) {
    alphabet &= (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '+' || c == '/' || c == '=';
  }
  if (!alphabet) return false;
  std::size_t length = 0;
  const bool ok = sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr,
                                    &length, nullptr, kVariant) == 0 &&
                  length == out.size();
  if (!ok) WipeBytes(out);
  return ok;
}

std::span<const unsigned char> AsBytes(std::string_view text) {
  return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

void AppendU64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

Error Malformed(const std::string& what) {
  return MakeError(Errc::kInvalidRequest, "malformed policy.sig: " + what);
}

// Splits off the next line (without its '\n'); nullopt when no '\n' is left.
std::optional<std::string_view> NextLine(std::string_view& rest) {
  const std::size_t end = rest.find('\n');
  if (end == std::string_view::npos) return std::nullopt;
  const std::string_view line = rest.substr(0, end);
  rest.remove_prefix(end + 1);
  return line;
}

}  // namespace

std::string BundleBytes(const std::vector<PolicySource>& files) {
  std::vector<const PolicySource*> ordered;
  for (const PolicySource& file : files) ordered.push_back(&file);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const PolicySource* a, const PolicySource* b) { return a->name < b->name; });
  std::string bytes(kBundleMagic);
  for (const PolicySource* file : ordered) {
    AppendU64(bytes, file->name.size());
    bytes += file->name;
    AppendU64(bytes, file->text.size());
    bytes += file->text;
  }
  return bytes;
}

std::vector<PolicySource> WithBaseNames(std::vector<PolicySource> files) {
  for (PolicySource& file : files) {
    const std::size_t slash = file.name.rfind('/');
    if (slash != std::string::npos) file.name.erase(0, slash + 1);
  }
  return files;
}

Result<std::string> ParsePublicKey(std::string_view text) {
  std::string raw(crypto_sign_PUBLICKEYBYTES, '\0');
  if (!text.starts_with(kPublicPrefix) ||
      !DecodeExact(text.substr(kPublicPrefix.size()),
                   {reinterpret_cast<unsigned char*>(raw.data()), raw.size()})) {
    return MakeError(Errc::kInvalidRequest,
                     "a public key is written ed25519:<base64 of 32 bytes>");
  }
  return raw;
}

Result<SecretBytes> ParseSigningKey(std::string_view file_text) {
  constexpr std::size_t kLength = Base64Length(crypto_sign_SECRETKEYBYTES);
  SecretBytes key(crypto_sign_SECRETKEYBYTES);
  if (file_text.size() != kKeyFileHeader.size() + kLength + 1 ||
      !file_text.starts_with(kKeyFileHeader) || file_text.back() != '\n' ||
      !DecodeExact(file_text.substr(kKeyFileHeader.size(), kLength), key.bytes())) {
    return MakeError(Errc::kInvalidRequest,
                     "not a policy signing key file (expected dbproxy-policy-signing-key-v1 "
                     "and one line of base64)");
  }
  // An Ed25519 secret key is seed || public key: a damaged file shows as a mismatch here.
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> public_key{};
  SecretBytes derived(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(public_key.data(), derived.bytes().data(), key.bytes().data());
  if (!derived.Equals(key.bytes())) {
    return MakeError(Errc::kInvalidRequest,
                     "policy signing key file is damaged (its public half does not match)");
  }
  return key;
}

Result<std::pair<std::string, SecretBytes>> GenerateSigningKey() {
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> public_key{};
  SecretBytes secret_key(crypto_sign_SECRETKEYBYTES);
  if (crypto_sign_keypair(public_key.data(), secret_key.bytes().data()) != 0) {
    return MakeError(Errc::kInternal, "cannot generate a signing key");
  }
  constexpr std::size_t kLength = Base64Length(crypto_sign_SECRETKEYBYTES);
  SecretBytes file(kKeyFileHeader.size() + kLength + 1);
  std::span<unsigned char> out = file.bytes();
  std::memcpy(out.data(), kKeyFileHeader.data(), kKeyFileHeader.size());
  // Writes kLength characters and a NUL, which the newline then replaces.
  sodium_bin2base64(reinterpret_cast<char*>(out.data() + kKeyFileHeader.size()), kLength + 1,
                    secret_key.bytes().data(), secret_key.size(), kVariant);
  out[out.size() - 1] = '\n';
  return std::pair<std::string, SecretBytes>(std::string(kPublicPrefix) + EncodeBase64(public_key),
                                             std::move(file));
}

Result<std::string> PublicKeyOf(const SecretBytes& secret_key) {
  if (secret_key.size() != crypto_sign_SECRETKEYBYTES) {
    return MakeError(Errc::kInvalidRequest, "a policy signing key has 64 bytes");
  }
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> public_key{};
  crypto_sign_ed25519_sk_to_pk(public_key.data(), secret_key.bytes().data());
  return std::string(kPublicPrefix) + EncodeBase64(public_key);
}

Result<std::string> SignBundle(const std::vector<PolicySource>& files,
                               const SecretBytes& secret_key) {
  Result<std::string> public_key = PublicKeyOf(secret_key);
  if (!public_key) return std::move(public_key).error();
  const std::string bytes = BundleBytes(files);
  std::array<unsigned char, crypto_sign_BYTES> signature{};
  crypto_sign_detached(signature.data(), nullptr, AsBytes(bytes).data(), bytes.size(),
                       secret_key.bytes().data());
  return std::string(kSignatureHeader) + "key " + *public_key + "\nsig " +
         EncodeBase64(signature) + "\n";
}

Result<BundleSignature> ParseSignatureFile(std::string_view text) {
  if (text.size() > kMaxSignatureFile) return Malformed("too large");
  if (!text.starts_with(kSignatureHeader)) {
    return Malformed("the first line must be dbproxy-policy-signature-v1");
  }
  std::string_view rest = text.substr(kSignatureHeader.size());
  const std::optional<std::string_view> key_line = NextLine(rest);
  const std::optional<std::string_view> sig_line = NextLine(rest);
  if (!key_line || !key_line->starts_with("key ") || !sig_line || !sig_line->starts_with("sig ") ||
      !rest.empty()) {
    return Malformed("expected the lines 'key ed25519:...' and 'sig ...', each ending in a "
                     "newline, and nothing after them");
  }
  BundleSignature signature;
  signature.public_key = std::string(key_line->substr(4));
  Result<std::string> key_bytes = ParsePublicKey(signature.public_key);
  if (!key_bytes) return Malformed(key_bytes.error().message);
  signature.key_bytes = std::move(*key_bytes);
  signature.signature.assign(crypto_sign_BYTES, '\0');
  if (!DecodeExact(sig_line->substr(4),
                   {reinterpret_cast<unsigned char*>(signature.signature.data()),
                    signature.signature.size()})) {
    return Malformed("the signature is not base64 of 64 bytes");
  }
  return signature;
}

Status VerifyBundle(const std::vector<PolicySource>& files, std::string_view signature_file,
                    const std::vector<std::string>& trusted_keys) {
  Result<BundleSignature> signature = ParseSignatureFile(signature_file);
  if (!signature) return std::move(signature).error();
  bool trusted = false;
  for (const std::string& key : trusted_keys) {
    Result<std::string> raw = ParsePublicKey(key);
    if (!raw) {
      return MakeError(Errc::kInvalidRequest,
                       "invalid trusted key '" + key + "': " + raw.error().message);
    }
    trusted = trusted || *raw == signature->key_bytes;
  }
  if (!trusted) {
    return MakeError(Errc::kInvalidRequest, "policy bundle is not signed by a trusted key");
  }
  const std::string bytes = BundleBytes(files);
  if (crypto_sign_verify_detached(AsBytes(signature->signature).data(), AsBytes(bytes).data(),
                                  bytes.size(), AsBytes(signature->key_bytes).data()) != 0) {
    return MakeError(Errc::kInvalidRequest,
                     "policy bundle signature does not match its files (was a file changed "
                     "after signing?)");
  }
  return Status::Ok();
}

}  // namespace dbproxy
