// CredentialStore: the enrolled workspaces and service-principal credentials, kept encrypted in
// <state_dir>/credentials.enc (format in common/credential_store_format.hpp).
//
// Every mutation writes the whole file atomically before it returns; the in-memory state changes
// only when the write succeeded, so memory and disk never disagree.
// Threading: every method is safe to call from any thread (one internal mutex). Mutations do
// blocking I/O (fsync) under that mutex, so the agent issues them from its blocking-work pool.
// The rule for callers: no network I/O, co_await or callback ever runs under the store's lock.
// That is why secrets leave the store only as copies (CopyCredential), never through a
// callback run under the lock: the event loop takes the same lock (status, metrics, grants).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/store/credential_store_format.hpp"
#include "common/core/result.hpp"
#include "common/core/secret_bytes.hpp"

namespace dbproxy {

struct CredentialCopy {  // owned by the caller; the secret stays in guarded memory
  std::string host;
  std::string client_id;
  SecretBytes secret;
};

struct CredentialInfo {  // never holds the secret
  std::string workspace;
  std::string host;
  std::string credential;
  std::string client_id;
  std::int64_t enrolled_at = 0;
};

class CredentialStore {
 public:
  // Opens the store at `path` with `master_key` (moved in and kept in guarded memory).
  // A missing file is an empty store; a file that does not decrypt is kCorrupt, never a reset.
  static Result<std::unique_ptr<CredentialStore>> Open(std::string path, SecretBytes master_key);

  CredentialStore(std::string path, SecretBytes master_key, CredentialStoreData data);
  CredentialStore(const CredentialStore&) = delete;
  CredentialStore& operator=(const CredentialStore&) = delete;

  // Adds or replaces a credential. A workspace name that exists with another host is kConflict.
  Status Put(const std::string& workspace, const std::string& host, const std::string& credential,
             const std::string& client_id, SecretBytes secret, std::int64_t now);
  Status RemoveWorkspace(const std::string& workspace);
  Status RemoveCredential(const std::string& workspace, const std::string& credential);
  // Re-encrypts the whole store under `new_master_key` (atomic write, fsync) and keeps using it.
  // On failure the file and the key in use are unchanged.
  Status Rekey(SecretBytes new_master_key);

  // The workspace's host, or empty when unknown.
  std::string HostOf(const std::string& workspace) const;
  // An owned copy of one credential and its workspace's host, for a token grant. The lock is
  // held only while copying: the caller does its network I/O with the copy, never under the
  // store's lock. kNotFound when the workspace or the credential does not exist.
  Result<CredentialCopy> CopyCredential(const std::string& workspace,
                                        const std::string& credential) const;
  std::vector<CredentialInfo> List() const;
  std::size_t workspace_count() const;
  std::size_t credential_count() const;

 private:
  static Error NotEnrolled(const std::string& workspace, const std::string& credential);
  Status Save(const CredentialStoreData& data) const { return Save(data, master_key_); }
  Status Save(const CredentialStoreData& data, const SecretBytes& master_key) const;

  std::string path_;
  SecretBytes master_key_;
  CredentialStoreData data_;
  // Guards data_ (held for memory work only; see the threading note above).
  mutable std::mutex mutex_;
};

}  // namespace dbproxy
