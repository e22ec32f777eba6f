// The encrypted credential store file (credentials.enc): its data model and byte format.
//
// File layout (all integers little-endian):
//   offset  0  8 bytes  magic "DBPXCRED"
//   offset  8  u32      format version: 2 is written; 1 is still read
//   offset 12  24 bytes nonce (fresh random bytes for every write)
//   offset 36  ...      crypto_aead_xchacha20poly1305_ietf ciphertext of the plaintext below,
//                       followed by its 16-byte tag; the 36 header bytes are the associated
//                       data, so the magic, version and nonce are authenticated too.
// Plaintext (lives only in SecretBytes; str and bytes = u32 length + that many bytes):
//   u32 workspace count, then per workspace:
//     str name, str host, u32 credential count, then per credential:
//       str name, str client_id, i64 enrolled_at (Unix seconds), then
//       version 1: bytes client secret
//       version 2: u8 kind, then kind 0 (client secret): bytes client secret;
//                  kind 1 (federated, no secret): str subject, str audience
//   version 2 only, after the workspaces: u32 signing key count, then per key:
//     str kid, str alg ("ES256" or "RS256"), i64 created_at, i64 retired_at (0: the key in
//     use), bytes private key (PKCS#8 PEM)
// Limits: names and client ids <= 256 bytes, host, subject and audience <= 2048, secret <= 4096,
// private key <= 16384, counts <= 10000 (signing keys <= 16, at most one in use),
// whole file <= kMaxCredentialStoreBytes.
// There is exactly one encoding of a given store: no padding, no trailing bytes.
//
// Pure (no I/O): the agent reads and writes the file and supplies the key and the nonce.
// Thread-safe: no shared state. REQUIRES: sodium_init() has succeeded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/result.hpp"
#include "common/core/secret_bytes.hpp"

namespace dbproxy {

struct StoredCredential {
  std::string name;
  std::string client_id;
  SecretBytes client_secret;     // empty for a federated credential
  std::int64_t enrolled_at = 0;  // Unix seconds
  // Workload identity federation: no secret is stored; the agent signs a short-lived JWT for
  // `subject` and `audience` with its signing key and exchanges it for a token (RFC 8693).
  bool federated = false;
  std::string subject{};
  std::string audience{};
};

// One of the agent's own JWT signing keys (common/identity/jwt_signing.hpp).
struct StoredSigningKey {
  std::string kid;
  std::string alg;              // "ES256" or "RS256"
  std::int64_t created_at = 0;  // Unix seconds
  std::int64_t retired_at = 0;  // 0: the key that signs; else when it stopped signing
  SecretBytes private_key_pem{};
};

struct StoredWorkspace {
  std::string name;
  std::string host;  // normalised origin, e.g. "https://adb-1.azuredatabricks.net"
  std::vector<StoredCredential> credentials;
};

struct CredentialStoreData {
  std::vector<StoredWorkspace> workspaces;
  std::vector<StoredSigningKey> signing_keys{};  // oldest first
};

inline constexpr std::size_t kMasterKeyBytes = 32;
inline constexpr std::size_t kStoreNonceBytes = 24;  // XChaCha20-Poly1305
inline constexpr std::uint32_t kCredentialStoreVersion = 2;  // written; 1 is still read
inline constexpr std::size_t kMaxSigningKeys = 16;
inline constexpr std::size_t kMaxCredentialStoreBytes = std::size_t{64} << 20;  // 64 MiB

// True when `name` is a valid workspace or credential name: 1 to 64 characters from
// [A-Za-z0-9._-], and not "." or ".." (names appear as URL path segments).
bool IsValidName(std::string_view name) noexcept;

// Encrypts `data` into a complete store file. `nonce` must be fresh random bytes
// (randombytes_buf in the caller); reusing a nonce with the same key breaks confidentiality.
// Errors: kInvalidRequest when `master_key` is not kMasterKeyBytes long or `data` breaks a limit
// or naming rule above (also duplicate workspace names, or duplicate credential names within a
// workspace; empty host or client id; a secret on a federated credential or none on another;
// a federated credential without subject or audience; duplicate kids, more than one signing key
// in use; a file over kMaxCredentialStoreBytes);
// kInternal if encryption fails.
// Every plaintext temporary is held in SecretBytes and wiped.
Result<std::vector<unsigned char>> SealCredentialStore(
    const CredentialStoreData& data, const SecretBytes& master_key,
    std::span<const unsigned char, kStoreNonceBytes> nonce);

// Decrypts and parses a whole store file.
// Errors (all kCorrupt unless noted; messages are safe for clients, reasons go to log_detail):
//   "not a dbproxy credential store"                     bad magic or file shorter than it;
//   "credential store is too large"                      over kMaxCredentialStoreBytes;
//   "unsupported credential store version N"             any version other than 1 and 2;
//   "credential store is truncated"                      shorter than header + tag;
//   "credential store cannot be decrypted: wrong master key or corrupted file"
//                                                        authentication failed;
//   "credential store is malformed"                      decrypted, but the plaintext breaks the
//                                                        format, a limit or a naming rule;
//   kInvalidRequest when `master_key` is not kMasterKeyBytes long.
// On failure no partial data is returned and every decrypted byte has been wiped.
Result<CredentialStoreData> OpenCredentialStore(std::span<const unsigned char> file,
                                                const SecretBytes& master_key);

// Validates the contents of a master key file: exactly kMasterKeyBytes raw bytes, not all zero.
// Errors: kInvalidRequest whose message states the expected size. The caller still owns and
// must wipe `file_contents`; on failure nothing is copied out of it.
Result<SecretBytes> ParseMasterKey(std::span<const unsigned char> file_contents);

}  // namespace dbproxy
