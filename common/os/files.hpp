// Small, careful file operations shared by dbproxyd and dbproxyctl: whole-file reads with a cap,
// reads straight into guarded memory, atomic replacement, exclusive creation, and the policy
// directory as both read it. common/os/ is the one place in common/ that does I/O; the rest of
// common/ stays pure. Error messages name the path and the reason, never file contents.
#pragma once

#include <sys/types.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/result.hpp"
#include "common/core/secret_bytes.hpp"
#include "common/policy/policy.hpp"

namespace dbproxy {

inline constexpr std::size_t kMaxPolicyFileBytes = 4 << 20;

// Reads a whole regular file (capped at `max_bytes`; symlinks refused). kNotFound when it does
// not exist, kInvalidRequest when it is not a regular file, kPayloadTooLarge over the cap,
// kInternal on other errors.
Result<std::vector<unsigned char>> ReadFileBytes(const std::string& path,
                                                 std::size_t max_bytes = 16 << 20);
Result<std::string> ReadFileText(const std::string& path, std::size_t max_bytes = 16 << 20);
// As ReadFileBytes, but the bytes go straight into guarded memory (key files): no copy of them
// is left in ordinary memory. REQUIRES: sodium_init() has succeeded.
Result<SecretBytes> ReadFileSecret(const std::string& path, std::size_t max_bytes);

// Replaces `path` atomically: write a hidden temp file in the same directory with `mode`, fsync
// it, rename over `path`, fsync the directory. On any failure the old file is untouched and the
// temp file removed.
Status AtomicWriteFile(const std::string& path, std::span<const unsigned char> data, mode_t mode);
Status AtomicWriteFile(const std::string& path, std::string_view data, mode_t mode);

// Creates `path` with exactly `mode` and writes `data`, fsync'ed; kConflict when it already
// exists (never overwrites, never follows a symlink). On failure the file is removed.
Status WriteNewFile(const std::string& path, std::string_view data, mode_t mode);

// Creates `path` (and parents) as directories with `mode` when missing.
Status EnsureDirectory(const std::string& path, mode_t mode);

// Text of a file under /proc (or similar small pseudo-file); empty on any error.
std::string ReadSmallFile(const std::string& path);

// This host's name (gethostname), or "localhost" when it cannot be read.
std::string LocalHostName();

// The policy files of `directory`: regular `*.toml` files (IsPolicyFileName; not recursive) in
// name order, each at most kMaxPolicyFileBytes. Names are full paths. A missing directory has
// no files. The agent and `dbproxyctl policy lint|sign|verify` read a directory only this way.
Result<std::vector<PolicySource>> ReadPolicySources(const std::string& directory);

}  // namespace dbproxy
