// The 32-byte master key that encrypts the credential store: loading it (or creating it on first
// start), opening the store with it, and rotating it (`dbproxyctl rekey`).
//
// Rotation is crash-safe. Its steps, each durable (fsync) before the next:
//   1. the new key is written to <key_file>.new (0400);
//   2. the store is re-encrypted under the new key (atomic replace);
//   3. <key_file>.new is renamed over <key_file>.
// A crash after 1 leaves a store that <key_file> still opens: the stale .new is removed at the
// next start. A crash after 2 leaves a store that only <key_file>.new opens: the next start
// opens it with that key and finishes step 3. Nothing else ever tries the .new key.
#pragma once

#include <memory>
#include <string>

#include "agent/state/credential_store.hpp"
#include "common/core/result.hpp"
#include "common/core/secret_bytes.hpp"

namespace dbproxy {

// Where the key in use came from.
struct MasterKeySource {
  std::string key_file;             // the configured key_file (its path even when unused)
  bool systemd_credential = false;  // $CREDENTIALS_DIRECTORY/dbproxy.key: not ours to rewrite
};

// Source order: $CREDENTIALS_DIRECTORY/dbproxy.key (systemd LoadCredential[Encrypted]=) when that
// variable is set, else `key_file`. A missing key_file is created with 32 random bytes, mode
// 0400, atomically — but only when `allow_create`. Any other problem (wrong size, unreadable,
// group/world-readable key_file) is an error with a clear message.
Result<SecretBytes> LoadMasterKey(const std::string& key_file, bool allow_create);

// "<key_file>.new": where a rotation stages the next key.
std::string PendingKeyPath(const std::string& key_file);

struct OpenedStore {
  std::unique_ptr<CredentialStore> store;
  MasterKeySource source;
  std::string recovery;  // what was done about an interrupted rotation; empty when nothing
};

// Loads the master key (LoadMasterKey with allow_create) and opens the store at `store_path`,
// finishing or discarding an interrupted rotation (see the header comment). Errors as
// LoadMasterKey and CredentialStore::Open (kCorrupt when no key opens the store).
// Blocking I/O: start-up only.
Result<OpenedStore> OpenStoreWithMasterKey(const std::string& store_path,
                                           const std::string& key_file);

// Rotates the master key of `store`, whose key came from `source`: a new random key, the three
// steps above. kInvalidRequest when the key is a systemd credential (the message gives the
// offline procedure); kInternal naming the step that failed otherwise. When step 3 fails the
// store is already under the new key and the next start finishes the rotation.
// Blocking I/O (fsync): run it on the blocking pool.
Status RotateMasterKey(CredentialStore& store, const MasterKeySource& source);

}  // namespace dbproxy
