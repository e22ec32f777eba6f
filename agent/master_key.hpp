// Loads (or, on first start, creates) the 32-byte master key that encrypts the credential store.
#pragma once

#include <string>

#include "common/result.hpp"
#include "common/secret_bytes.hpp"

namespace dbproxy {

// Source order: $CREDENTIALS_DIRECTORY/dbproxy.key (systemd LoadCredential[Encrypted]=) when that
// variable is set, else `key_file`. A missing key_file is created with 32 random bytes, mode
// 0400, atomically — but only when `allow_create`. Any other problem (wrong size, unreadable,
// group/world-readable key_file) is an error with a clear message.
Result<SecretBytes> LoadMasterKey(const std::string& key_file, bool allow_create);

}  // namespace dbproxy
