// Small, careful file operations for state that must not be lost or half-written.
#pragma once

#include <sys/types.h>

#include <span>
#include <string>
#include <vector>

#include "common/core/result.hpp"

namespace dbproxy {

// Reads a whole regular file (capped at `max_bytes`). kNotFound when it does not exist.
Result<std::vector<unsigned char>> ReadFileBytes(const std::string& path,
                                                 std::size_t max_bytes = 16 << 20);
Result<std::string> ReadFileText(const std::string& path, std::size_t max_bytes = 16 << 20);

// Replaces `path` atomically: write a temp file in the same directory with `mode`, fsync it,
// rename over `path`, fsync the directory. On any failure the old file is untouched and the
// temp file removed.
Status AtomicWriteFile(const std::string& path, std::span<const unsigned char> data, mode_t mode);

// Creates `path` (and parents) as directories with `mode` when missing.
Status EnsureDirectory(const std::string& path, mode_t mode);

// Text of a file under /proc (or similar small pseudo-file); empty on any error.
std::string ReadSmallFile(const std::string& path);

}  // namespace dbproxy
