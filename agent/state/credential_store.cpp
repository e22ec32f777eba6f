#include "agent/state/credential_store.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>

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
  return std::make_unique<CredentialStore>(std::move(path), std::move(master_key),
                                           std::move(data));
}

CredentialStore::CredentialStore(std::string path, SecretBytes master_key, CredentialStoreData data)
    : path_(std::move(path)), master_key_(std::move(master_key)), data_(std::move(data)) {}

Status CredentialStore::Save(const CredentialStoreData& data, const SecretBytes& master_key) const {
  std::array<unsigned char, kStoreNonceBytes> nonce{};
  randombytes_buf(nonce.data(), nonce.size());
  Result<std::vector<unsigned char>> sealed = SealCredentialStore(data, master_key, nonce);
  if (!sealed) return std::move(sealed).error();
  return AtomicWriteFile(path_, *sealed, 0600);
}

Status CredentialStore::Put(const std::string& workspace, const std::string& host,
                            const std::string& credential, const std::string& client_id,
                            SecretBytes secret, std::int64_t now) {
  std::lock_guard lock(mutex_);
  auto ws = std::find_if(data_.workspaces.begin(), data_.workspaces.end(),
                         [&](const StoredWorkspace& w) { return w.name == workspace; });
  const bool new_workspace = ws == data_.workspaces.end();
  if (!new_workspace && ws->host != host) {
    return MakeError(Errc::kConflict, "workspace '" + workspace + "' is enrolled with host " +
                                          ws->host + "; remove it first to change its host");
  }
  if (new_workspace) {
    data_.workspaces.push_back(StoredWorkspace{.name = workspace, .host = host, .credentials = {}});
    ws = data_.workspaces.end() - 1;
  }
  auto& credentials = ws->credentials;
  auto existing = std::find_if(credentials.begin(), credentials.end(),
                               [&](const StoredCredential& c) { return c.name == credential; });
  StoredCredential fresh{.name = credential,
                         .client_id = client_id,
                         .client_secret = std::move(secret),
                         .enrolled_at = now};
  const bool replacing = existing != credentials.end();
  if (replacing) std::swap(*existing, fresh);  // `fresh` now holds the old one, for rollback
  else credentials.push_back(std::move(fresh));

  Status saved = Save(data_);
  if (!saved) {  // roll back so memory matches disk
    if (replacing) std::swap(*existing, fresh);
    else credentials.pop_back();
    if (new_workspace) data_.workspaces.pop_back();
  }
  return saved;
}

Status CredentialStore::RemoveWorkspace(const std::string& workspace) {
  std::lock_guard lock(mutex_);
  auto ws = std::find_if(data_.workspaces.begin(), data_.workspaces.end(),
                         [&](const StoredWorkspace& w) { return w.name == workspace; });
  if (ws == data_.workspaces.end()) {
    return MakeError(Errc::kNotFound, "workspace '" + workspace + "' is not enrolled");
  }
  StoredWorkspace removed = std::move(*ws);
  const auto index = ws - data_.workspaces.begin();
  data_.workspaces.erase(ws);
  Status saved = Save(data_);
  if (!saved) data_.workspaces.insert(data_.workspaces.begin() + index, std::move(removed));
  return saved;
}

Status CredentialStore::RemoveCredential(const std::string& workspace,
                                         const std::string& credential) {
  std::lock_guard lock(mutex_);
  for (StoredWorkspace& ws : data_.workspaces) {
    if (ws.name != workspace) continue;
    auto it = std::find_if(ws.credentials.begin(), ws.credentials.end(),
                           [&](const StoredCredential& c) { return c.name == credential; });
    if (it == ws.credentials.end()) break;
    StoredCredential removed = std::move(*it);
    const auto index = it - ws.credentials.begin();
    ws.credentials.erase(it);
    Status saved = Save(data_);
    if (!saved) ws.credentials.insert(ws.credentials.begin() + index, std::move(removed));
    return saved;
  }
  return NotEnrolled(workspace, credential);
}

Status CredentialStore::Rekey(SecretBytes new_master_key) {
  std::lock_guard lock(mutex_);
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

Result<CredentialCopy> CredentialStore::CopyCredential(const std::string& workspace,
                                                      const std::string& credential) const {
  std::lock_guard lock(mutex_);
  for (const StoredWorkspace& ws : data_.workspaces) {
    if (ws.name != workspace) continue;
    for (const StoredCredential& c : ws.credentials) {
      if (c.name != credential) continue;
      return CredentialCopy{.host = ws.host,
                            .client_id = c.client_id,
                            .secret = SecretBytes::CopyFrom(c.client_secret.bytes())};
    }
    return NotEnrolled(workspace, credential);
  }
  return MakeError(Errc::kNotFound, "workspace '" + workspace + "' is not enrolled");
}

Error CredentialStore::NotEnrolled(const std::string& workspace, const std::string& credential) {
  return MakeError(Errc::kNotFound, "credential '" + credential + "' is not enrolled for workspace '" +
                                        workspace + "'");
}

std::vector<CredentialInfo> CredentialStore::List() const {
  std::lock_guard lock(mutex_);
  std::vector<CredentialInfo> out;
  for (const StoredWorkspace& ws : data_.workspaces) {
    if (ws.credentials.empty()) {
      out.push_back(CredentialInfo{.workspace = ws.name, .host = ws.host, .credential = {},
                                   .client_id = {}, .enrolled_at = 0});
    }
    for (const StoredCredential& c : ws.credentials) {
      out.push_back(CredentialInfo{.workspace = ws.name, .host = ws.host, .credential = c.name,
                                   .client_id = c.client_id, .enrolled_at = c.enrolled_at});
    }
  }
  return out;
}

std::size_t CredentialStore::workspace_count() const {
  std::lock_guard lock(mutex_);
  return data_.workspaces.size();
}

std::size_t CredentialStore::credential_count() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const StoredWorkspace& ws : data_.workspaces) n += ws.credentials.size();
  return n;
}

}  // namespace dbproxy
