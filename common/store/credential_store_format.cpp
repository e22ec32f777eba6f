#include "common/store/credential_store_format.hpp"

#include <sodium.h>

#include <array>
#include <cassert>
#include <cstring>
#include <set>
#include <utility>

namespace dbproxy {
namespace {

constexpr std::array<unsigned char, 8> kMagic = {'D', 'B', 'P', 'X', 'C', 'R', 'E', 'D'};
constexpr std::size_t kVersionOffset = kMagic.size();
constexpr std::size_t kNonceOffset = kVersionOffset + 4;
constexpr std::size_t kHeaderBytes = kNonceOffset + kStoreNonceBytes;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(kStoreNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kMasterKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

constexpr std::size_t kMaxNameBytes = 256;
constexpr std::size_t kMaxHostBytes = 2048;
constexpr std::size_t kMaxSecretBytes = 4096;
constexpr std::size_t kMaxPrivateKeyBytes = 16384;
constexpr std::uint32_t kMaxCount = 10000;
constexpr unsigned char kKindSecret = 0;
constexpr unsigned char kKindFederated = 1;

constexpr char kDecryptFailed[] =
    "credential store cannot be decrypted: wrong master key or corrupted file";

Error Corrupt(std::string message, std::string log_detail = {}) {
  return MakeError(Errc::kCorrupt, std::move(message), std::move(log_detail));
}

// Printable ASCII without spaces: client ids and hosts end up in HTTP requests and JSON.
bool IsPrintableToken(std::string_view text, std::size_t max) {
  if (text.empty() || text.size() > max) return false;
  for (const char c : text) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

// Shared by seal and open. Returns a reason fit for clients (no secret, no raw bytes from the
// input, only names that passed IsValidName), or "" when the data is acceptable.
std::string CheckData(const CredentialStoreData& data) {
  if (data.workspaces.size() > kMaxCount) return "too many workspaces";
  std::set<std::string_view> workspace_names;
  for (std::size_t w = 0; w < data.workspaces.size(); ++w) {
    const StoredWorkspace& ws = data.workspaces[w];
    const std::string where = "workspace #" + std::to_string(w + 1);
    if (!IsValidName(ws.name)) return where + " has an invalid name";
    if (!workspace_names.insert(ws.name).second)
      return "duplicate workspace name '" + ws.name + "'";
    if (!IsPrintableToken(ws.host, kMaxHostBytes))
      return "workspace '" + ws.name + "' has an invalid host";
    if (ws.credentials.size() > kMaxCount)
      return "workspace '" + ws.name + "' has too many credentials";
    std::set<std::string_view> credential_names;
    for (const StoredCredential& cred : ws.credentials) {
      if (!IsValidName(cred.name))
        return "workspace '" + ws.name + "' has a credential with an invalid name";
      const std::string cred_where = "credential '" + ws.name + "/" + cred.name + "'";
      if (!credential_names.insert(cred.name).second) return "duplicate " + cred_where;
      if (!IsPrintableToken(cred.client_id, kMaxNameBytes))
        return cred_where + " has an invalid client id";
      if (cred.federated) {
        if (!cred.client_secret.empty()) return cred_where + " is federated but has a secret";
        if (!IsPrintableToken(cred.subject, kMaxHostBytes) ||
            !IsPrintableToken(cred.audience, kMaxHostBytes)) {
          return cred_where + " has an invalid federation subject or audience";
        }
      } else if (cred.client_secret.empty() || cred.client_secret.size() > kMaxSecretBytes) {
        return cred_where + " has an empty or oversized secret";
      } else if (!cred.subject.empty() || !cred.audience.empty()) {
        return cred_where + " has a federation subject but is not federated";
      }
    }
  }
  if (data.signing_keys.size() > kMaxSigningKeys) return "too many signing keys";
  std::set<std::string_view> kids;
  std::size_t in_use = 0;
  for (const StoredSigningKey& key : data.signing_keys) {
    if (!IsPrintableToken(key.kid, kMaxNameBytes)) return "a signing key has an invalid kid";
    if (!kids.insert(key.kid).second) return "duplicate signing key '" + key.kid + "'";
    if (key.alg != "ES256" && key.alg != "RS256")
      return "signing key '" + key.kid + "' has an unsupported algorithm";
    if (key.private_key_pem.empty() || key.private_key_pem.size() > kMaxPrivateKeyBytes)
      return "signing key '" + key.kid + "' has an empty or oversized private key";
    if (key.retired_at == 0) ++in_use;
  }
  if (in_use > 1) return "more than one signing key is in use";
  return {};
}

std::size_t EncodedSize(const CredentialStoreData& data) {
  std::size_t size = 4;
  for (const StoredWorkspace& ws : data.workspaces) {
    size += 4 + ws.name.size() + 4 + ws.host.size() + 4;
    for (const StoredCredential& cred : ws.credentials) {
      size += 4 + cred.name.size() + 4 + cred.client_id.size() + 8 + 1;
      size += cred.federated ? 4 + cred.subject.size() + 4 + cred.audience.size()
                             : 4 + cred.client_secret.size();
    }
  }
  size += 4;
  for (const StoredSigningKey& key : data.signing_keys) {
    size += 4 + key.kid.size() + 4 + key.alg.size() + 8 + 8 + 4 + key.private_key_pem.size();
  }
  return size;
}

// Appends into a buffer sized in advance by EncodedSize, so secrets are never reallocated.
class Writer {
 public:
  explicit Writer(std::span<unsigned char> out) : out_(out) {}
  void U8(unsigned char v) { Int(v, 1); }
  void U32(std::uint32_t v) { Int(v, 4); }
  void I64(std::int64_t v) { Int(static_cast<std::uint64_t>(v), 8); }
  void Bytes(std::span<const unsigned char> bytes) {
    U32(static_cast<std::uint32_t>(bytes.size()));
    if (!bytes.empty()) std::memcpy(out_.data() + pos_, bytes.data(), bytes.size());
    pos_ += bytes.size();
  }
  void Str(std::string_view text) {
    Bytes({reinterpret_cast<const unsigned char*>(text.data()), text.size()});
  }
  std::size_t pos() const { return pos_; }

 private:
  void Int(std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i)
      out_[pos_++] = static_cast<unsigned char>(v >> (8 * i));
  }
  std::span<unsigned char> out_;
  std::size_t pos_ = 0;
};

// Bounds-checked reader: every length is checked against its cap and the bytes left before
// anything is allocated or copied.
class Reader {
 public:
  explicit Reader(std::span<const unsigned char> in) : in_(in) {}
  bool U8(unsigned char& v) { return Int(v, 1); }
  bool U32(std::uint32_t& v) { return Int(v, 4); }
  bool I64(std::int64_t& v) {
    std::uint64_t u = 0;
    if (!Int(u, 8)) return false;
    v = static_cast<std::int64_t>(u);
    return true;
  }
  bool Count(std::uint32_t& count) { return U32(count) && count <= kMaxCount; }
  bool Str(std::size_t max, std::string& out) {
    std::size_t len = 0;
    if (!Length(max, len)) return false;
    out.assign(reinterpret_cast<const char*>(in_.data() + pos_), len);
    pos_ += len;
    return true;
  }
  bool Secret(std::size_t max, SecretBytes& out) {
    std::size_t len = 0;
    if (!Length(max, len)) return false;
    out = SecretBytes::CopyFrom(in_.subspan(pos_, len));
    pos_ += len;
    return true;
  }
  bool AtEnd() const { return pos_ == in_.size(); }

 private:
  template <class T>
  bool Int(T& v, std::size_t bytes) {
    if (in_.size() - pos_ < bytes) return false;
    v = 0;
    for (std::size_t i = 0; i < bytes; ++i)
      v |= static_cast<T>(in_[pos_ + i]) << (8 * i);
    pos_ += bytes;
    return true;
  }
  bool Length(std::size_t max, std::size_t& len) {
    std::uint32_t raw = 0;
    if (!U32(raw) || raw > max || raw > in_.size() - pos_) return false;
    len = raw;
    return true;
  }
  std::span<const unsigned char> in_;
  std::size_t pos_ = 0;
};

void Encode(const CredentialStoreData& data, Writer& w) {
  w.U32(static_cast<std::uint32_t>(data.workspaces.size()));
  for (const StoredWorkspace& ws : data.workspaces) {
    w.Str(ws.name);
    w.Str(ws.host);
    w.U32(static_cast<std::uint32_t>(ws.credentials.size()));
    for (const StoredCredential& cred : ws.credentials) {
      w.Str(cred.name);
      w.Str(cred.client_id);
      w.I64(cred.enrolled_at);
      if (cred.federated) {
        w.U8(kKindFederated);
        w.Str(cred.subject);
        w.Str(cred.audience);
      } else {
        w.U8(kKindSecret);
        w.Bytes(cred.client_secret.bytes());
      }
    }
  }
  w.U32(static_cast<std::uint32_t>(data.signing_keys.size()));
  for (const StoredSigningKey& key : data.signing_keys) {
    w.Str(key.kid);
    w.Str(key.alg);
    w.I64(key.created_at);
    w.I64(key.retired_at);
    w.Bytes(key.private_key_pem.bytes());
  }
}

Error Malformed(std::string_view reason) {
  return Corrupt("credential store is malformed",
                 "credential store plaintext: " + std::string(reason));
}

bool DecodeCredentialBody(Reader& r, std::uint32_t version, StoredCredential& cred) {
  unsigned char kind = kKindSecret;
  if (version >= 2 && !r.U8(kind)) return false;
  if (kind == kKindSecret) return r.Secret(kMaxSecretBytes, cred.client_secret);
  if (kind != kKindFederated) return false;
  cred.federated = true;
  return r.Str(kMaxHostBytes, cred.subject) && r.Str(kMaxHostBytes, cred.audience);
}

bool DecodeSigningKey(Reader& r, StoredSigningKey& key) {
  return r.Str(kMaxNameBytes, key.kid) && r.Str(kMaxNameBytes, key.alg) && r.I64(key.created_at) &&
         r.I64(key.retired_at) && r.Secret(kMaxPrivateKeyBytes, key.private_key_pem);
}

// `data` owns the secrets parsed so far; returning an error destroys (and so wipes) them.
Result<CredentialStoreData> Decode(std::span<const unsigned char> plain, std::uint32_t version) {
  Reader r(plain);
  CredentialStoreData data;
  std::uint32_t workspace_count = 0;
  if (!r.Count(workspace_count)) return Malformed("bad workspace count");
  for (std::uint32_t w = 0; w < workspace_count; ++w) {
    StoredWorkspace& ws = data.workspaces.emplace_back();
    std::uint32_t credential_count = 0;
    if (!r.Str(kMaxNameBytes, ws.name) || !r.Str(kMaxHostBytes, ws.host) ||
        !r.Count(credential_count)) {
      return Malformed("bad workspace record");
    }
    for (std::uint32_t c = 0; c < credential_count; ++c) {
      StoredCredential& cred = ws.credentials.emplace_back();
      if (!r.Str(kMaxNameBytes, cred.name) || !r.Str(kMaxNameBytes, cred.client_id) ||
          !r.I64(cred.enrolled_at) || !DecodeCredentialBody(r, version, cred)) {
        return Malformed("bad credential record");
      }
    }
  }
  if (version >= 2) {
    std::uint32_t key_count = 0;
    if (!r.Count(key_count) || key_count > kMaxSigningKeys) return Malformed("bad key count");
    for (std::uint32_t k = 0; k < key_count; ++k) {
      if (!DecodeSigningKey(r, data.signing_keys.emplace_back())) {
        return Malformed("bad signing key record");
      }
    }
  }
  if (!r.AtEnd()) return Malformed("trailing bytes");
  if (std::string reason = CheckData(data); !reason.empty()) return Malformed(reason);
  return data;
}

}  // namespace

bool IsValidName(std::string_view name) noexcept {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<std::vector<unsigned char>> SealCredentialStore(
    const CredentialStoreData& data, const SecretBytes& master_key,
    std::span<const unsigned char, kStoreNonceBytes> nonce) {
  if (master_key.size() != kMasterKeyBytes) {
    return MakeError(Errc::kInvalidRequest, "master key must be 32 bytes");
  }
  if (std::string reason = CheckData(data); !reason.empty()) {
    return MakeError(Errc::kInvalidRequest, "cannot store credentials: " + reason);
  }
  const std::size_t plain_size = EncodedSize(data);
  if (plain_size > kMaxCredentialStoreBytes - kHeaderBytes - kTagBytes) {
    return MakeError(Errc::kInvalidRequest, "cannot store credentials: store would be too large");
  }
  SecretBytes plain(plain_size);
  Writer writer(plain.bytes());
  Encode(data, writer);
  assert(writer.pos() == plain_size);

  std::vector<unsigned char> file(kHeaderBytes + plain_size + kTagBytes);
  std::memcpy(file.data(), kMagic.data(), kMagic.size());
  for (std::size_t i = 0; i < 4; ++i) {
    file[kVersionOffset + i] = static_cast<unsigned char>(kCredentialStoreVersion >> (8 * i));
  }
  std::memcpy(file.data() + kNonceOffset, nonce.data(), kStoreNonceBytes);
  unsigned long long cipher_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_encrypt(
          file.data() + kHeaderBytes, &cipher_len, plain.bytes().data(), plain_size, file.data(),
          kHeaderBytes, nullptr, nonce.data(), master_key.bytes().data()) != 0 ||
      cipher_len != plain_size + kTagBytes) {
    return MakeError(Errc::kInternal, "credential store encryption failed");
  }
  return file;
}

Result<CredentialStoreData> OpenCredentialStore(std::span<const unsigned char> file,
                                                const SecretBytes& master_key) {
  if (master_key.size() != kMasterKeyBytes) {
    return MakeError(Errc::kInvalidRequest, "master key must be 32 bytes");
  }
  if (file.size() < kMagic.size() || std::memcmp(file.data(), kMagic.data(), kMagic.size()) != 0) {
    return Corrupt("not a dbproxy credential store");
  }
  if (file.size() > kMaxCredentialStoreBytes) return Corrupt("credential store is too large");
  if (file.size() < kNonceOffset) return Corrupt("credential store is truncated");
  std::uint32_t version = 0;
  for (std::size_t i = 0; i < 4; ++i)
    version |= std::uint32_t{file[kVersionOffset + i]} << (8 * i);
  if (version != 1 && version != kCredentialStoreVersion) {
    return Corrupt("unsupported credential store version " + std::to_string(version));
  }
  if (file.size() < kHeaderBytes + kTagBytes) return Corrupt("credential store is truncated");

  SecretBytes plain(file.size() - kHeaderBytes - kTagBytes);
  unsigned long long plain_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          plain.bytes().data(), &plain_len, nullptr, file.data() + kHeaderBytes,
          file.size() - kHeaderBytes, file.data(), kHeaderBytes, file.data() + kNonceOffset,
          master_key.bytes().data()) != 0 ||
      plain_len != plain.size()) {
    return Corrupt(kDecryptFailed, "AEAD authentication failed");
  }
  return Decode(plain.bytes(), version);
}

Result<SecretBytes> ParseMasterKey(std::span<const unsigned char> file_contents) {
  if (file_contents.size() != kMasterKeyBytes) {
    return MakeError(Errc::kInvalidRequest,
                     "master key file must hold exactly 32 raw bytes, found " +
                         std::to_string(file_contents.size()));
  }
  if (sodium_is_zero(file_contents.data(), file_contents.size()) == 1) {
    return MakeError(Errc::kInvalidRequest, "master key file holds 32 zero bytes, not a key");
  }
  return SecretBytes::CopyFrom(file_contents);
}

}  // namespace dbproxy
