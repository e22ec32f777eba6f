// Signed policy bundles: a security team signs a policy directory once (Ed25519); every host
// verifies the signature before loading the directory.
//
// The signed bytes (BundleBytes) are "dbproxy-policy-bundle-v1\n" followed, for each file in
// name order, by u64le(name length), name, u64le(text length), text. Names are base names
// ("10-base.toml"), so a bundle verifies wherever the directory is installed; the selection of
// files is the agent's (`*.toml`, not starting with '.'). Adding, removing, renaming or changing
// any file breaks the signature.
//
// Text forms (each parsed strictly: one form, no extra bytes, canonical base64 with padding):
//   public key        "ed25519:<base64 of 32 bytes>"
//   secret key file   "dbproxy-policy-signing-key-v1\n<base64 of the 64-byte secret key>\n"
//   policy.sig        "dbproxy-policy-signature-v1\nkey ed25519:<base64>\nsig <base64 of 64>\n"
//
// Pure apart from GenerateSigningKey, which takes its randomness from libsodium (randombytes):
// key generation is a one-off operator action, and libsodium's CSPRNG is the source we would
// inject anyway. Threading: all functions are reentrant.
// REQUIRES: sodium_init() has succeeded.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/policy/policy.hpp"
#include "common/core/result.hpp"
#include "common/core/secret_bytes.hpp"

namespace dbproxy {

// Name of the signature file inside a policy directory (not a *.toml file, so never signed).
inline constexpr std::string_view kPolicySignatureFile = "policy.sig";

// The canonical bytes that are signed. Files are taken in name order whatever the order of
// `files`; names are used as given (pass base names, see WithBaseNames).
std::string BundleBytes(const std::vector<PolicySource>& files);

// `files` with every name reduced to its last path component ("/etc/x/10-a.toml" -> "10-a.toml").
std::vector<PolicySource> WithBaseNames(std::vector<PolicySource> files);

// Validates a public key text; returns its 32 raw bytes. kInvalidRequest when malformed.
Result<std::string> ParsePublicKey(std::string_view text);

// Parses a secret key file's text; returns the 64-byte Ed25519 secret key in guarded memory.
// kInvalidRequest when malformed or when its embedded public half does not match its seed.
// Nothing decoded survives a failure; the message never contains key material.
Result<SecretBytes> ParseSigningKey(std::string_view file_text);

// A new key pair: {public key text, secret key file text (in guarded memory)}.
Result<std::pair<std::string, SecretBytes>> GenerateSigningKey();

// The public key text of `secret_key` (64 bytes, as from ParseSigningKey).
Result<std::string> PublicKeyOf(const SecretBytes& secret_key);

// Signs BundleBytes(files) with `secret_key` (the 64-byte key from ParseSigningKey); returns the
// policy.sig text. kInvalidRequest when the key is not 64 bytes.
Result<std::string> SignBundle(const std::vector<PolicySource>& files,
                               const SecretBytes& secret_key);

struct BundleSignature {
  std::string public_key{};  // "ed25519:<base64>", as written in the file
  std::string key_bytes{};   // its 32 raw bytes
  std::string signature{};   // 64 raw bytes
};

// Parses policy.sig text. kInvalidRequest "malformed policy.sig: <what>".
Result<BundleSignature> ParseSignatureFile(std::string_view text);

// Ok when `signature_file` is a valid policy.sig whose key is one of `trusted_keys` (public key
// texts) and whose signature matches BundleBytes(files). Errors (all kInvalidRequest):
//   "malformed policy.sig: ..."                               unparsable signature file
//   "invalid trusted key '...': ..."                          a trusted key text is malformed
//   "policy bundle is not signed by a trusted key"            key not among trusted_keys
//   "policy bundle signature does not match its files (was a file changed after signing?)"
Status VerifyBundle(const std::vector<PolicySource>& files, std::string_view signature_file,
                    const std::vector<std::string>& trusted_keys);

}  // namespace dbproxy
