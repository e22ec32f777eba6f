// File operations of the local `dbproxyctl policy` commands (lint, keygen, sign, verify). They
// never talk to the agent. Error messages name the path and the reason; never key material.
// REQUIRES: sodium_init() has succeeded (SecretBytes).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/policy/policy.hpp"
#include "common/core/result.hpp"
#include "common/core/secret_bytes.hpp"

namespace dbproxy::cli {

// The policy files of `directory`, selected as the agent selects them: regular files whose names
// end in ".toml" and do not start with '.', in name order. Names are "directory/name".
// kNotFound when `directory` is not a directory; kInternal on read errors.
Result<std::vector<PolicySource>> ReadPolicyFiles(const std::string& directory);

// A whole small file as text (kNotFound when missing; kInvalidRequest when over `max_bytes`).
Result<std::string> ReadSmallTextFile(const std::string& path, std::size_t max_bytes);

// A whole small file read straight into guarded memory (for key files).
Result<SecretBytes> ReadSecretFile(const std::string& path, std::size_t max_bytes);

// Creates `path` with `mode` and writes `data`; kConflict when it already exists (never
// overwrites, never follows a symlink). The file is fsync'ed; on failure it is removed.
Status WriteNewFile(const std::string& path, std::string_view data, mode_t mode);

// Replaces `path` atomically: a hidden temp file in the same directory, fsync, rename over
// `path`, fsync the directory. On failure the old file is untouched and the temp file removed.
Status ReplaceFile(const std::string& path, std::string_view data, mode_t mode);

}  // namespace dbproxy::cli
