#include "common/core/secret_bytes.hpp"

#include <sodium.h>

#include <cstring>
#include <new>
#include <string>

namespace dbproxy {

SecretBytes::SecretBytes(std::size_t size) : size_(size) {
  // One extra byte keeps the contents NUL-terminated for C APIs.
  data_ = static_cast<unsigned char*>(sodium_malloc(size + 1));
  if (data_ == nullptr) throw std::bad_alloc();
  sodium_memzero(data_, size + 1);
}

SecretBytes SecretBytes::CopyFrom(std::span<const unsigned char> data) {
  SecretBytes secret(data.size());
  if (!data.empty()) std::memcpy(secret.data_, data.data(), data.size());
  return secret;
}

SecretBytes SecretBytes::CopyFrom(std::string_view data) {
  return CopyFrom(std::span<const unsigned char>(
      reinterpret_cast<const unsigned char*>(data.data()), data.size()));
}

SecretBytes::~SecretBytes() {
  if (data_ != nullptr) sodium_free(data_);  // zeroes, unlocks and unmaps
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) sodium_free(data_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

std::string_view SecretBytes::view() const noexcept {
  if (data_ == nullptr) return {};
  return {reinterpret_cast<const char*>(data_), size_};
}

const char* SecretBytes::c_str() const noexcept {
  return data_ == nullptr ? "" : reinterpret_cast<const char*>(data_);
}

bool SecretBytes::Equals(std::span<const unsigned char> other) const noexcept {
  if (other.size() != size_) return false;
  if (size_ == 0) return true;
  return sodium_memcmp(data_, other.data(), size_) == 0;
}

void WipeString(std::string& text) noexcept {
  // Wipe the whole capacity: earlier, longer contents may linger past size().
  if (text.capacity() > 0) sodium_memzero(text.data(), text.capacity());
  text.clear();
}

void WipeBytes(std::span<unsigned char> bytes) noexcept {
  if (!bytes.empty()) sodium_memzero(bytes.data(), bytes.size());
}

}  // namespace dbproxy
