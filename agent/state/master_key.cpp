#include "agent/state/master_key.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "common/os/files.hpp"
#include "agent/log.hpp"
#include "common/store/credential_store_format.hpp"

namespace dbproxy {
namespace {

Result<SecretBytes> ParseKeyFile(const std::string& path) {
  // Read straight into guarded memory: no copy of the key is left in ordinary memory.
  Result<SecretBytes> bytes = ReadFileSecret(path, 4096);
  if (!bytes) return std::move(bytes).error();
  Result<SecretBytes> key = ParseMasterKey(bytes->bytes());
  if (!key) {
    Error error = std::move(key).error();
    error.message = "master key " + path + ": " + error.message;
    return error;
  }
  return key;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// rename(2), then fsync of the directory so the rename survives a crash.
Status DurableRename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return MakeError(Errc::kInternal, "cannot rename " + from + " to " + to + ": " +
                                          std::strerror(errno));
  }
  std::string directory = std::filesystem::path(to).parent_path().string();
  if (directory.empty()) directory = ".";
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  const int saved = errno;
  if (fd >= 0) ::close(fd);
  if (!synced) {
    return MakeError(Errc::kInternal, "cannot fsync " + directory + ": " + std::strerror(saved));
  }
  return Status::Ok();
}

// The store does not open with key_file's key: a rotation may have stopped after step 2.
Result<OpenedStore> FinishInterruptedRotation(const std::string& store_path,
                                              const std::string& key_file, Error original) {
  const std::string pending = PendingKeyPath(key_file);
  if (!Exists(pending)) return original;
  Result<SecretBytes> next = ParseKeyFile(pending);
  if (!next) return original;
  Result<std::unique_ptr<CredentialStore>> store =
      CredentialStore::Open(store_path, std::move(*next));
  if (!store) return original;  // neither key opens it: report the key_file failure
  if (Status renamed = DurableRename(pending, key_file); !renamed) return std::move(renamed).error();
  return OpenedStore{.store = std::move(*store),
                     .source = {.key_file = key_file, .systemd_credential = false},
                     .recovery = "finished an interrupted master key rotation: " + key_file +
                                 " now holds the key of " + store_path};
}

}  // namespace

std::string PendingKeyPath(const std::string& key_file) { return key_file + ".new"; }

Result<SecretBytes> LoadMasterKey(const std::string& key_file, bool allow_create) {
  if (const char* directory = std::getenv("CREDENTIALS_DIRECTORY"); directory && *directory) {
    return ParseKeyFile(std::string(directory) + "/dbproxy.key");
  }
  struct stat st {};
  if (::stat(key_file.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0) {
      return MakeError(Errc::kInvalidRequest, "master key " + key_file +
                                                  " is readable by group or others; chmod 0400 it");
    }
    return ParseKeyFile(key_file);
  }
  if (!allow_create) return MakeError(Errc::kNotFound, "master key " + key_file + " does not exist");
  SecretBytes key(kMasterKeyBytes);
  randombytes_buf(key.bytes().data(), key.size());
  if (Status written = AtomicWriteFile(key_file, key.bytes(), 0400); !written) {
    return std::move(written).error();
  }
  return key;
}

Result<OpenedStore> OpenStoreWithMasterKey(const std::string& store_path,
                                           const std::string& key_file) {
  const char* directory = std::getenv("CREDENTIALS_DIRECTORY");
  const bool systemd_credential = directory != nullptr && *directory != '\0';
  Result<SecretBytes> key = LoadMasterKey(key_file, /*allow_create=*/true);
  if (!key) return std::move(key).error();
  Result<std::unique_ptr<CredentialStore>> store = CredentialStore::Open(store_path, std::move(*key));
  if (!store && !systemd_credential && store.error().code == Errc::kCorrupt) {
    return FinishInterruptedRotation(store_path, key_file, std::move(store).error());
  }
  if (!store) return std::move(store).error();
  OpenedStore opened{.store = std::move(*store),
                     .source = {.key_file = key_file, .systemd_credential = systemd_credential},
                     .recovery = {}};
  const std::string pending = PendingKeyPath(key_file);
  if (!systemd_credential && Exists(pending)) {
    // Step 2 never happened: the staged key encrypts nothing.
    ::unlink(pending.c_str());
    opened.recovery = "removed " + pending + " left by an interrupted master key rotation";
  }
  return opened;
}

Status RotateMasterKey(CredentialStore& store, const MasterKeySource& source) {
  if (source.systemd_credential) {
    return MakeError(
        Errc::kInvalidRequest,
        "the master key is a systemd credential ($CREDENTIALS_DIRECTORY/dbproxy.key), which "
        "dbproxyd cannot rewrite; rotate it offline with systemd-creds (dbproxyd(8), "
        "docs/operations.md \"Metrics and lifecycle\")");
  }
  const std::string pending = PendingKeyPath(source.key_file);
  SecretBytes next(kMasterKeyBytes);
  randombytes_buf(next.bytes().data(), next.size());
  if (Status staged = AtomicWriteFile(pending, next.bytes(), 0400); !staged) {
    ::unlink(pending.c_str());
    return MakeError(Errc::kInternal, "master key rotation: cannot write " + pending,
                     staged.error().message);
  }
  if (Status rekeyed = store.Rekey(SecretBytes::CopyFrom(next.bytes())); !rekeyed) {
    ::unlink(pending.c_str());
    return MakeError(Errc::kInternal, "master key rotation: cannot re-encrypt the store",
                     rekeyed.error().message);
  }
  if (Status renamed = DurableRename(pending, source.key_file); !renamed) {
    return MakeError(Errc::kInternal,
                     "master key rotation: the store is re-encrypted but " + source.key_file +
                         " was not replaced; the next start of dbproxyd finishes the rotation",
                     renamed.error().message);
  }
  Log(LogLevel::kInfo, "master key rotated; " + source.key_file + " replaced");
  return Status::Ok();
}

}  // namespace dbproxy
