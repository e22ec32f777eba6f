// libFuzzer target for the credential store plaintext parser.
//
// Random bytes almost never pass AEAD authentication, so fuzzing OpenCredentialStore on raw input
// would only exercise the header checks. Instead the input is taken as plaintext and sealed
// here with a fixed key, so every run reaches the length-prefixed parser behind the tag. The
// first byte picks the format version of the header (odd: 1, still read; even: 2, written).
#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/store/credential_store_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool initialised = sodium_init() >= 0;
  if (!initialised) std::abort();

  dbproxy::SecretBytes key(dbproxy::kMasterKeyBytes);
  for (unsigned char& b : key.bytes()) b = 0x42;
  const bool version_1 = size > 0 && (data[0] & 1) != 0;
  std::vector<unsigned char> file = {'D', 'B', 'P', 'X', 'C', 'R', 'E', 'D',
                                     static_cast<unsigned char>(version_1 ? 1 : 2), 0, 0, 0};
  file.resize(file.size() + dbproxy::kStoreNonceBytes, 0x24);
  const std::size_t header = file.size();
  file.resize(header + size + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_encrypt(file.data() + header, &len, data, size,
                                                 file.data(), header, nullptr,
                                                 file.data() + 12, key.bytes().data()) != 0) {
    std::abort();
  }
  const dbproxy::Result<dbproxy::CredentialStoreData> store =
      dbproxy::OpenCredentialStore(file, key);
  if (store) {
    // Whatever parses must re-seal to the same bytes: version 2 has exactly one encoding. A
    // version 1 file is re-sealed as version 2, which must read back to the same store.
    std::array<unsigned char, dbproxy::kStoreNonceBytes> nonce{};
    nonce.fill(0x24);
    const auto resealed = dbproxy::SealCredentialStore(*store, key, nonce);
    if (!resealed) std::abort();
    if (!version_1 && *resealed != file) std::abort();
    if (version_1) {
      const auto reopened = dbproxy::OpenCredentialStore(*resealed, key);
      if (!reopened) std::abort();
      const auto again = dbproxy::SealCredentialStore(*reopened, key, nonce);
      if (!again || *again != *resealed) std::abort();
    }
  }
  // Raw input straight into the file parser: header checks and authentication failures.
  (void)dbproxy::OpenCredentialStore({data, size}, key);
  (void)dbproxy::ParseMasterKey({data, size});
  return 0;
}
