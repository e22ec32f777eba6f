// SecretBytes: move-only storage for secrets (client secrets, access tokens, master keys).
//
// Memory comes from sodium_malloc: guard pages around it, mlock'ed so it is never swapped, and
// zeroed by sodium_free on release. A NUL byte is kept after the contents so that C APIs that
// need a C string (libcurl's password option) can read it without a copy into std::string.
// Secrets must never be copied into std::string, logs, exceptions or argv.
//
// Threading: a SecretBytes is not synchronised; share it read-only or guard it.
// REQUIRES: sodium_init() has succeeded (see agent hardening and test main).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace dbproxy {

class SecretBytes {
 public:
  SecretBytes() = default;
  // Allocates `size` zeroed bytes. Throws std::bad_alloc when sodium_malloc fails.
  explicit SecretBytes(std::size_t size);
  // Copies `data` into guarded memory. The caller remains responsible for wiping its copy.
  static SecretBytes CopyFrom(std::span<const unsigned char> data);
  static SecretBytes CopyFrom(std::string_view data);

  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<unsigned char> bytes() noexcept { return {data_, size_}; }
  std::span<const unsigned char> bytes() const noexcept { return {data_, size_}; }
  // A view for APIs that take text (JSON serialisation of a token response, HTTP headers).
  // The view must not outlive this object and must not be copied into a long-lived string.
  std::string_view view() const noexcept;
  // NUL-terminated contents; never null.
  const char* c_str() const noexcept;

  // Constant-time comparison (sodium_memcmp); different sizes compare unequal.
  bool Equals(std::span<const unsigned char> other) const noexcept;

 private:
  unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

// Wipes a buffer that held secret material (sodium_memzero: not optimised away).
void WipeString(std::string& text) noexcept;
void WipeBytes(std::span<unsigned char> bytes) noexcept;

}  // namespace dbproxy
