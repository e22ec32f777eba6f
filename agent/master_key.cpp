#include "agent/master_key.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <cstdlib>
#include <vector>

#include "agent/files.hpp"
#include "common/credential_store_format.hpp"

namespace dbproxy {
namespace {

Result<SecretBytes> ParseKeyFile(const std::string& path) {
  Result<std::vector<unsigned char>> bytes = ReadFileBytes(path, 4096);
  if (!bytes) return std::move(bytes).error();
  Result<SecretBytes> key = ParseMasterKey(*bytes);
  WipeBytes(*bytes);
  if (!key) {
    Error error = std::move(key).error();
    error.message = "master key " + path + ": " + error.message;
    return error;
  }
  return key;
}

}  // namespace

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

}  // namespace dbproxy
