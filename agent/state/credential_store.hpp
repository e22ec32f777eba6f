// CredentialStore: the enrolled workspaces and service-principal credentials, kept encrypted in
// <state_dir>/credentials.enc (format in common/credential_store_format.hpp).
//
// Every mutation writes the whole file atomically before it returns; the in-memory state changes
// only when the write succeeded, so memory and disk never disagree.
// Threading: every method is safe to call from any thread. Mutations block on the disk (write,
// fsync; one mutation at a time), so the agent issues them from its blocking-work pool; readers
// (HostOf, CopyCredential, List, counts) take a lock held only for memory work, never across
// disk or network I/O, a co_await or a callback, so the event loop may call them.
// Secrets leave the store only as owned copies (CopyCredential): a token grant over the network
// is made with the copy, never under the store's lock.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/result.hpp"
#include "common/core/secret_bytes.hpp"
#include "common/store/credential_store_format.hpp"

namespace dbproxy {

struct CredentialCopy {  // owned by the caller; the secret stays in guarded memory
  std::string host;
  std::string client_id;
  SecretBytes secret;  // empty when federated
  bool federated = false;
  std::string subject{};  // federated: the sub and aud of the JWT the agent signs
  std::string audience{};
};

struct CredentialInfo {  // never holds the secret
  std::string workspace;
  std::string host;
  std::string credential;
  std::string client_id;
  std::int64_t enrolled_at = 0;
  bool federated = false;
  std::string subject{};
  std::string audience{};
};

// The signing key in use, copied out of the store for one signature.
struct SigningKeyCopy {
  std::string kid;
  SecretBytes private_key_pem;
};

// A signing key as published (no private part).
struct PublishedSigningKey {
  std::string kid;
  std::string alg;
  std::int64_t created_at = 0;
  std::int64_t retired_at = 0;  // 0: in use
  nlohmann::json jwk;           // JwtSigningKey::PublishedJwk
};

// Writes a whole file atomically and durably (AtomicWriteFile in the agent; a fake in tests).
using StoreFileWriter = std::function<Status(const std::string& path,
                                             std::span<const unsigned char> data, mode_t mode)>;

class CredentialStore {
 public:
  // Opens the store at `path` with `master_key` (moved in and kept in guarded memory).
  // A missing file is an empty store; a file that does not decrypt is kCorrupt, never a reset.
  static Result<std::unique_ptr<CredentialStore>> Open(std::string path, SecretBytes master_key);

  // REQUIRES: `write_file` is set (the default is AtomicWriteFile).
  CredentialStore(std::string path, SecretBytes master_key, CredentialStoreData data,
                  StoreFileWriter write_file = nullptr);
  CredentialStore(const CredentialStore&) = delete;
  CredentialStore& operator=(const CredentialStore&) = delete;

  // Adds or replaces a credential. A workspace name that exists with another host is kConflict.
  Status Put(const std::string& workspace, const std::string& host, const std::string& credential,
             const std::string& client_id, SecretBytes secret, std::int64_t now);
  // Adds or replaces a federated credential (no secret; see StoredCredential).
  Status PutFederated(const std::string& workspace, const std::string& host,
                      const std::string& credential, const std::string& client_id,
                      const std::string& subject, const std::string& audience, std::int64_t now);
  Status RemoveWorkspace(const std::string& workspace);
  Status RemoveCredential(const std::string& workspace, const std::string& credential);
  // Re-encrypts the whole store under `new_master_key` (atomic write, fsync) and keeps using it.
  // On failure the file and the key in use are unchanged.
  Status Rekey(SecretBytes new_master_key);

  // The workspace's host, or empty when unknown.
  std::string HostOf(const std::string& workspace) const;
  // The names of the workspaces enrolled with `host` (a normalised origin), in store order.
  std::vector<std::string> WorkspacesAt(const std::string& host) const;
  // An owned copy of one credential and its workspace's host, for a token grant. The lock is
  // held only while copying: the caller does its network I/O with the copy, never under the
  // store's lock. kNotFound when the workspace or the credential does not exist.
  Result<CredentialCopy> CopyCredential(const std::string& workspace,
                                        const std::string& credential) const;
  std::vector<CredentialInfo> List() const;

  // The agent's JWT signing key in use (workload identity federation). When there is none yet,
  // generates one of `alg` ("ES256" or "RS256") and stores it first (blocks on the disk: call
  // from the blocking-work pool).
  Result<SigningKeyCopy> SigningKeyInUse(const std::string& alg, std::int64_t now);
  // Retires the key in use (if any) at `now` and puts a new key of `alg` in its place. Keys
  // retired more than `retain_seconds` ago are deleted. Returns the new key's kid.
  Result<std::string> RotateSigningKey(const std::string& alg, std::int64_t now,
                                       std::int64_t retain_seconds);
  // The keys a verifier must accept at `now`: the one in use and those retired less than
  // `retain_seconds` ago (assertions they signed may still be valid), oldest first.
  Result<std::vector<PublishedSigningKey>> PublishedSigningKeys(std::int64_t now,
                                                                std::int64_t retain_seconds) const;
  std::size_t workspace_count() const;
  std::size_t credential_count() const;

 private:
  static Error NotEnrolled(const std::string& workspace, const std::string& credential);
  Status PutCredential(const std::string& workspace, const std::string& host,
                       StoredCredential fresh);
  // Writes `next` and, once it is on disk, makes it the state. REQUIRES: write_mutex_ held.
  Status Commit(CredentialStoreData next);
  Status Save(const CredentialStoreData& data) const { return Save(data, master_key_); }
  Status Save(const CredentialStoreData& data, const SecretBytes& master_key) const;

  std::string path_;
  StoreFileWriter write_file_;
  std::mutex write_mutex_;  // serialises mutations, held across the write; guards master_key_
  SecretBytes master_key_;
  CredentialStoreData data_;  // changed only with both locks held
  // Guards data_ for readers; held for memory work only (see the threading note above).
  mutable std::mutex mutex_;
};

}  // namespace dbproxy
