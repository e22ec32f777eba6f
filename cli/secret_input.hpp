// Reading a client secret into guarded memory, for `dbproxyctl enroll`.
//
// Every function reads straight into a sodium-guarded buffer (SecretBytes); the secret never
// passes through std::string, iostreams or stdio buffers. Exactly one trailing "\n" or "\r\n" is
// removed (editors and `echo` add one); any other byte, including inner or further newlines, is
// part of the secret. Error messages never contain secret bytes.
//
// Threading: functions are independent; the terminal prompt must not run concurrently with
// anything else that uses /dev/tty.
// REQUIRES: sodium_init() has succeeded.
#pragma once

#include <cstddef>
#include <string>

#include "common/core/result.hpp"
#include "common/core/secret_bytes.hpp"

namespace dbproxy::cli {

// Largest secret accepted, after the trailing newline is removed.
inline constexpr std::size_t kMaxSecretSize = 4096;

// Reads `fd` until end of file (or, with `stop_at_newline`, until the first '\n'). Does not close
// `fd`. Errors (Errc::kInvalidRequest): the secret is empty after stripping, or larger than
// `max_size`; (Errc::kInternal): read() failed.
Result<SecretBytes> ReadSecretFromFd(int fd, std::size_t max_size = kMaxSecretSize,
                                     bool stop_at_newline = false);

// Opens `path` ("-" means standard input) and reads it as ReadSecretFromFd does. The message of
// an open error names `path` and the reason.
Result<SecretBytes> ReadSecretFromFile(const std::string& path,
                                       std::size_t max_size = kMaxSecretSize);

// Writes `prompt` to /dev/tty, switches echo off (restored on every return path), reads one line
// and ends it with a newline on the terminal. Errors: no controlling terminal, read failures, and
// the size/emptiness errors above.
Result<SecretBytes> ReadSecretFromTerminal(const std::string& prompt,
                                           std::size_t max_size = kMaxSecretSize);

}  // namespace dbproxy::cli
