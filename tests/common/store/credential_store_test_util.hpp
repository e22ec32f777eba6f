// Helpers shared by the credential store format tests: keys, nonces and a builder that encodes
// plaintext and files from the documented format, independently of the code under test.
#pragma once

#include <gtest/gtest.h>

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/store/credential_store_format.hpp"

namespace dbproxy::store_test {

using Bytes = std::vector<unsigned char>;
using Nonce = std::array<unsigned char, kStoreNonceBytes>;

inline constexpr char kDecryptFailed[] =
    "credential store cannot be decrypted: wrong master key or corrupted file";

inline SecretBytes Key(unsigned char fill) {
  SecretBytes key(kMasterKeyBytes);
  std::fill(key.bytes().begin(), key.bytes().end(), fill);
  return key;
}

inline Nonce MakeNonce(unsigned char fill) {
  Nonce nonce{};
  nonce.fill(fill);
  return nonce;
}

inline StoredCredential Cred(std::string name, std::string client_id, std::string_view secret,
                             std::int64_t enrolled_at) {
  return StoredCredential{.name = std::move(name),
                          .client_id = std::move(client_id),
                          .client_secret = SecretBytes::CopyFrom(secret),
                          .enrolled_at = enrolled_at};
}

// Plaintext and file built independently of the code under test, from the documented format.
class PlainBuilder {
 public:
  PlainBuilder& U8(unsigned char v) { return Int(v, 1); }
  PlainBuilder& U32(std::uint32_t v) { return Int(v, 4); }
  PlainBuilder& I64(std::int64_t v) { return Int(static_cast<std::uint64_t>(v), 8); }
  PlainBuilder& Str(std::string_view s) {
    U32(static_cast<std::uint32_t>(s.size()));
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
  }
  const Bytes& bytes() const { return bytes_; }

 private:
  PlainBuilder& Int(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
      bytes_.push_back(static_cast<unsigned char>(v >> (8 * i)));
    return *this;
  }
  Bytes bytes_;
};

inline Bytes EncryptRaw(const Bytes& plain, const SecretBytes& key, std::uint32_t version = 1) {
  Bytes file = {'D', 'B', 'P', 'X', 'C', 'R', 'E', 'D'};
  for (int i = 0; i < 4; ++i)
    file.push_back(static_cast<unsigned char>(version >> (8 * i)));
  const Nonce nonce = MakeNonce(9);
  file.insert(file.end(), nonce.begin(), nonce.end());
  const std::size_t header = file.size();
  file.resize(header + plain.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long len = 0;
  EXPECT_EQ(crypto_aead_xchacha20poly1305_ietf_encrypt(file.data() + header, &len, plain.data(),
                                                       plain.size(), file.data(), header, nullptr,
                                                       nonce.data(), key.bytes().data()),
            0);
  return file;
}

// Version 1 plaintext (still read): one workspace "ws" with one credential; `secret` lets tests
// vary the last field.
inline PlainBuilder OneCredential(std::string_view ws_name = "ws", std::string_view cred_name = "c",
                                  std::string_view secret = "s3cret") {
  PlainBuilder b;
  b.U32(1).Str(ws_name).Str("https://h").U32(1).Str(cred_name).Str("id").I64(42).Str(secret);
  return b;
}

}  // namespace dbproxy::store_test
