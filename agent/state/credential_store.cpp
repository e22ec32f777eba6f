#include "agent/state/credential_store.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>

#include "common/identity/jwt_signing.hpp"
#include "common/os/files.hpp"

namespace dbproxy {

Result<std::unique_ptr<CredentialStore>> CredentialStore::Open(std::string path,
                                                               SecretBytes master_key) {
  Result<std::vector<unsigned char>> file = ReadFileBytes(path);
  CredentialStoreData data;
  if (file) {
    Result<CredentialStoreData> opened = OpenCredentialStore(*file, master_key);
    if (!opened) {
      Error error = std::move(opened).error();
      error.message = path + ": " + error.message;
      return error;
    }
    data = std::move(*opened);
  } else if (file.error().code != Errc::kNotFound) {
    return std::move(file).error();
  }
  return std::make_unique<CredentialStore>(std::move(path), std::move(master_key), std::move(data));
}

CredentialStore::CredentialStore(std::string path, SecretBytes master_key, CredentialStoreData data,
                                 StoreFileWriter write_file)
    : path_(std::move(path)),
      write_file_(write_file ? std::move(write_file)
                             : StoreFileWriter(
                                   [](const std::string& file, std::span<const unsigned char> bytes,
                                      mode_t mode) { return AtomicWriteFile(file, bytes, mode); })),
      master_key_(std::move(master_key)),
      data_(std::move(data)) {}

Status CredentialStore::Save(const CredentialStoreData& data, const SecretBytes& master_key) const {
  std::array<unsigned char, kStoreNonceBytes> nonce{};
  randombytes_buf(nonce.data(), nonce.size());
  Result<std::vector<unsigned char>> sealed = SealCredentialStore(data, master_key, nonce);
  if (!sealed) return std::move(sealed).error();
  return write_file_(path_, *sealed, 0600);
}

namespace {

// A deep copy (secrets copied into fresh guarded memory), for a mutation to work on.
CredentialStoreData Clone(const CredentialStoreData& data) {
  CredentialStoreData copy;
  for (const StoredWorkspace& ws : data.workspaces) {
    StoredWorkspace& out = copy.workspaces.emplace_back(
        StoredWorkspace{.name = ws.name, .host = ws.host, .credentials = {}});
    for (const StoredCredential& c : ws.credentials) {
      out.credentials.push_back(
          StoredCredential{.name = c.name,
                           .client_id = c.client_id,
                           .client_secret = SecretBytes::CopyFrom(c.client_secret.bytes()),
                           .enrolled_at = c.enrolled_at,
                           .federated = c.federated,
                           .subject = c.subject,
                           .audience = c.audience});
    }
  }
  for (const StoredSigningKey& key : data.signing_keys) {
    copy.signing_keys.push_back(
        StoredSigningKey{.kid = key.kid,
                         .alg = key.alg,
                         .created_at = key.created_at,
                         .retired_at = key.retired_at,
                         .private_key_pem = SecretBytes::CopyFrom(key.private_key_pem.bytes())});
  }
  return copy;
}

// A new signing key of `alg`, in use from `now`.
Result<StoredSigningKey> NewSigningKey(const std::string& alg, std::int64_t now) {
  Result<JwtSigningKey> key = JwtSigningKey::Generate(alg);
  if (!key) return std::move(key).error();
  Result<SecretBytes> pem = key->ToPem();
  if (!pem) return std::move(pem).error();
  return StoredSigningKey{.kid = key->kid(),
                          .alg = alg,
                          .created_at = now,
                          .retired_at = 0,
                          .private_key_pem = std::move(*pem)};
}

const StoredSigningKey* KeyInUse(const CredentialStoreData& data) {
  for (const StoredSigningKey& key : data.signing_keys) {
    if (key.retired_at == 0) return &key;
  }
  return nullptr;
}

}  // namespace

// Mutations hold write_mutex_ (one at a time) across the write and fsync, and mutex_ only to
// swap the written state in: readers never wait on the disk. Holding write_mutex_, data_ can be
// read without mutex_, since only holders of both change it.
Status CredentialStore::Commit(CredentialStoreData next) {
  if (Status saved = Save(next); !saved) return saved;
  std::lock_guard lock(mutex_);
  std::swap(data_, next);  // the old state is freed by `next` once the lock is released
  return Status::Ok();
}

Status CredentialStore::Put(const std::string& workspace, const std::string& host,
                            const std::string& credential, const std::string& client_id,
                            SecretBytes secret, std::int64_t now) {
  return PutCredential(workspace, host,
                       StoredCredential{.name = credential,
                                        .client_id = client_id,
                                        .client_secret = std::move(secret),
                                        .enrolled_at = now});
}

Status CredentialStore::PutFederated(const std::string& workspace, const std::string& host,
                                     const std::string& credential, const std::string& client_id,
                                     const std::string& subject, const std::string& audience,
                                     std::int64_t now) {
  return PutCredential(workspace, host,
                       StoredCredential{.name = credential,
                                        .client_id = client_id,
                                        .client_secret = SecretBytes(),
                                        .enrolled_at = now,
                                        .federated = true,
                                        .subject = subject,
                                        .audience = audience});
}

Status CredentialStore::PutCredential(const std::string& workspace, const std::string& host,
                                      StoredCredential fresh) {
  const std::string credential = fresh.name;
  std::lock_guard writing(write_mutex_);
  CredentialStoreData next = Clone(data_);
  auto ws = std::find_if(next.workspaces.begin(), next.workspaces.end(),
                         [&](const StoredWorkspace& w) { return w.name == workspace; });
  if (ws != next.workspaces.end() && ws->host != host) {
    return MakeError(Errc::kConflict, "workspace '" + workspace + "' is enrolled with host " +
                                          ws->host + "; remove it first to change its host");
  }
  if (ws == next.workspaces.end()) {
    next.workspaces.push_back(StoredWorkspace{.name = workspace, .host = host, .credentials = {}});
    ws = next.workspaces.end() - 1;
  }
  auto& credentials = ws->credentials;
  auto existing = std::find_if(credentials.begin(), credentials.end(),
                               [&](const StoredCredential& c) { return c.name == credential; });
  if (existing != credentials.end())
    *existing = std::move(fresh);
  else
    credentials.push_back(std::move(fresh));
  return Commit(std::move(next));
}

Status CredentialStore::RemoveWorkspace(const std::string& workspace) {
  std::lock_guard writing(write_mutex_);
  CredentialStoreData next = Clone(data_);
  const auto removed =
      std::erase_if(next.workspaces, [&](const StoredWorkspace& w) { return w.name == workspace; });
  if (removed == 0) {
    return MakeError(Errc::kNotFound, "workspace '" + workspace + "' is not enrolled");
  }
  return Commit(std::move(next));
}

Status CredentialStore::RemoveCredential(const std::string& workspace,
                                         const std::string& credential) {
  std::lock_guard writing(write_mutex_);
  CredentialStoreData next = Clone(data_);
  for (StoredWorkspace& ws : next.workspaces) {
    if (ws.name != workspace) continue;
    const auto removed = std::erase_if(
        ws.credentials, [&](const StoredCredential& c) { return c.name == credential; });
    if (removed == 0) break;
    return Commit(std::move(next));
  }
  return NotEnrolled(workspace, credential);
}

Status CredentialStore::Rekey(SecretBytes new_master_key) {
  std::lock_guard writing(write_mutex_);  // guards master_key_; data_ is only read
  if (Status saved = Save(data_, new_master_key); !saved) return saved;
  master_key_ = std::move(new_master_key);
  return Status::Ok();
}

std::string CredentialStore::HostOf(const std::string& workspace) const {
  std::lock_guard lock(mutex_);
  for (const StoredWorkspace& ws : data_.workspaces) {
    if (ws.name == workspace) return ws.host;
  }
  return {};
}

std::vector<std::string> CredentialStore::WorkspacesAt(const std::string& host) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  for (const StoredWorkspace& ws : data_.workspaces) {
    if (ws.host == host) names.push_back(ws.name);
  }
  return names;
}

Result<CredentialCopy> CredentialStore::CopyCredential(const std::string& workspace,
                                                       const std::string& credential) const {
  std::lock_guard lock(mutex_);
  for (const StoredWorkspace& ws : data_.workspaces) {
    if (ws.name != workspace) continue;
    for (const StoredCredential& c : ws.credentials) {
      if (c.name != credential) continue;
      return CredentialCopy{.host = ws.host,
                            .client_id = c.client_id,
                            .secret = SecretBytes::CopyFrom(c.client_secret.bytes()),
                            .federated = c.federated,
                            .subject = c.subject,
                            .audience = c.audience};
    }
    return NotEnrolled(workspace, credential);
  }
  return MakeError(Errc::kNotFound, "workspace '" + workspace + "' is not enrolled");
}

Error CredentialStore::NotEnrolled(const std::string& workspace, const std::string& credential) {
  return MakeError(Errc::kNotFound, "credential '" + credential +
                                        "' is not enrolled for workspace '" + workspace + "'");
}

std::vector<CredentialInfo> CredentialStore::List() const {
  std::lock_guard lock(mutex_);
  std::vector<CredentialInfo> out;
  for (const StoredWorkspace& ws : data_.workspaces) {
    if (ws.credentials.empty()) {
      out.push_back(CredentialInfo{.workspace = ws.name,
                                   .host = ws.host,
                                   .credential = {},
                                   .client_id = {},
                                   .enrolled_at = 0});
    }
    for (const StoredCredential& c : ws.credentials) {
      out.push_back(CredentialInfo{.workspace = ws.name,
                                   .host = ws.host,
                                   .credential = c.name,
                                   .client_id = c.client_id,
                                   .enrolled_at = c.enrolled_at,
                                   .federated = c.federated,
                                   .subject = c.subject,
                                   .audience = c.audience});
    }
  }
  return out;
}

Result<SigningKeyCopy> CredentialStore::SigningKeyInUse(const std::string& alg, std::int64_t now) {
  {
    std::lock_guard lock(mutex_);
    if (const StoredSigningKey* key = KeyInUse(data_)) {
      return SigningKeyCopy{.kid = key->kid,
                            .private_key_pem = SecretBytes::CopyFrom(key->private_key_pem.bytes())};
    }
  }
  std::lock_guard writing(write_mutex_);
  if (const StoredSigningKey* key = KeyInUse(data_)) {  // made by another thread meanwhile
    return SigningKeyCopy{.kid = key->kid,
                          .private_key_pem = SecretBytes::CopyFrom(key->private_key_pem.bytes())};
  }
  Result<StoredSigningKey> fresh = NewSigningKey(alg, now);
  if (!fresh) return std::move(fresh).error();
  SigningKeyCopy copy{.kid = fresh->kid,
                      .private_key_pem = SecretBytes::CopyFrom(fresh->private_key_pem.bytes())};
  CredentialStoreData next = Clone(data_);
  next.signing_keys.push_back(std::move(*fresh));
  if (Status committed = Commit(std::move(next)); !committed) return std::move(committed).error();
  return copy;
}

Result<std::string> CredentialStore::RotateSigningKey(const std::string& alg, std::int64_t now,
                                                      std::int64_t retain_seconds) {
  std::lock_guard writing(write_mutex_);
  Result<StoredSigningKey> fresh = NewSigningKey(alg, now);
  if (!fresh) return std::move(fresh).error();
  const std::string kid = fresh->kid;
  CredentialStoreData next = Clone(data_);
  for (StoredSigningKey& key : next.signing_keys) {
    if (key.retired_at == 0) key.retired_at = now;
  }
  std::erase_if(next.signing_keys,
                [&](const StoredSigningKey& key) { return key.retired_at + retain_seconds < now; });
  next.signing_keys.push_back(std::move(*fresh));
  if (next.signing_keys.size() > kMaxSigningKeys) {
    next.signing_keys.erase(next.signing_keys.begin(),
                            next.signing_keys.end() - static_cast<std::ptrdiff_t>(kMaxSigningKeys));
  }
  if (Status committed = Commit(std::move(next)); !committed) return std::move(committed).error();
  return kid;
}

Result<std::vector<PublishedSigningKey>> CredentialStore::PublishedSigningKeys(
    std::int64_t now, std::int64_t retain_seconds) const {
  std::vector<StoredSigningKey> keys;  // copies: the PEMs are parsed outside the lock
  {
    std::lock_guard lock(mutex_);
    for (const StoredSigningKey& key : data_.signing_keys) {
      if (key.retired_at != 0 && key.retired_at + retain_seconds < now) continue;
      keys.push_back(
          StoredSigningKey{.kid = key.kid,
                           .alg = key.alg,
                           .created_at = key.created_at,
                           .retired_at = key.retired_at,
                           .private_key_pem = SecretBytes::CopyFrom(key.private_key_pem.bytes())});
    }
  }
  std::vector<PublishedSigningKey> published;
  for (const StoredSigningKey& key : keys) {
    Result<JwtSigningKey> parsed = JwtSigningKey::FromPem(key.private_key_pem);
    if (!parsed) return std::move(parsed).error();
    published.push_back(PublishedSigningKey{.kid = key.kid,
                                            .alg = key.alg,
                                            .created_at = key.created_at,
                                            .retired_at = key.retired_at,
                                            .jwk = parsed->PublishedJwk()});
  }
  return published;
}

std::size_t CredentialStore::workspace_count() const {
  std::lock_guard lock(mutex_);
  return data_.workspaces.size();
}

std::size_t CredentialStore::credential_count() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const StoredWorkspace& ws : data_.workspaces)
    n += ws.credentials.size();
  return n;
}

}  // namespace dbproxy
