#include "common/store/credential_store_format.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/common/store/credential_store_test_util.hpp"

namespace dbproxy {
namespace {

using namespace ::dbproxy::store_test;  // NOLINT(google-build-using-namespace)

CredentialStoreData SampleData() {
  CredentialStoreData data;
  StoredWorkspace& prod = data.workspaces.emplace_back();
  prod.name = "prod";
  prod.host = "https://adb-1.azuredatabricks.net";
  prod.credentials.push_back(Cred("etl-sp", "client-id-0001", "dose-secret-value-1", 1700000000));
  prod.credentials.push_back(Cred("ro.sp_2", "client-id-0002", "dose-secret-value-2", -5));
  StoredWorkspace& dev = data.workspaces.emplace_back();
  dev.name = "dev";
  dev.host = "https://dev.cloud.databricks.com:8443";
  return data;
}

Bytes Seal(const CredentialStoreData& data, const SecretBytes& key, unsigned char nonce_fill = 7) {
  Result<Bytes> file = SealCredentialStore(data, key, MakeNonce(nonce_fill));
  EXPECT_TRUE(file.has_value()) << file.error().message;
  return file ? std::move(*file) : Bytes();
}

TEST(CredentialStoreFormatTest, RoundTrip) {
  const SecretBytes key = Key(1);
  const CredentialStoreData data = SampleData();
  Result<CredentialStoreData> opened = OpenCredentialStore(Seal(data, key), key);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  ASSERT_EQ(opened->workspaces.size(), 2u);
  for (std::size_t w = 0; w < 2; ++w) {
    const StoredWorkspace& want = data.workspaces[w];
    const StoredWorkspace& got = opened->workspaces[w];
    EXPECT_EQ(got.name, want.name);
    EXPECT_EQ(got.host, want.host);
    ASSERT_EQ(got.credentials.size(), want.credentials.size());
    for (std::size_t c = 0; c < want.credentials.size(); ++c) {
      EXPECT_EQ(got.credentials[c].name, want.credentials[c].name);
      EXPECT_EQ(got.credentials[c].client_id, want.credentials[c].client_id);
      EXPECT_EQ(got.credentials[c].enrolled_at, want.credentials[c].enrolled_at);
      EXPECT_TRUE(
          got.credentials[c].client_secret.Equals(want.credentials[c].client_secret.bytes()));
    }
  }
}

TEST(CredentialStoreFormatTest, EmptyStoreRoundTrips) {
  const SecretBytes key = Key(1);
  Result<CredentialStoreData> opened = OpenCredentialStore(Seal({}, key), key);
  ASSERT_TRUE(opened.has_value());
  EXPECT_TRUE(opened->workspaces.empty());
}

TEST(CredentialStoreFormatTest, VersionOneFilesAreStillRead) {
  const SecretBytes key = Key(3);
  Result<CredentialStoreData> opened =
      OpenCredentialStore(EncryptRaw(OneCredential().bytes(), key, 1), key);
  ASSERT_TRUE(opened.has_value()) << opened.error().log_detail;
  const StoredCredential& cred = opened->workspaces.at(0).credentials.at(0);
  EXPECT_EQ(cred.client_id, "id");
  EXPECT_EQ(cred.enrolled_at, 42);
  EXPECT_EQ(cred.client_secret.view(), "s3cret");
  EXPECT_FALSE(cred.federated);
  EXPECT_TRUE(opened->signing_keys.empty());
}

TEST(CredentialStoreFormatTest, MatchesDocumentedLayout) {
  const SecretBytes key = Key(3);
  CredentialStoreData data;
  data.workspaces.push_back({.name = "ws", .host = "https://h", .credentials = {}});
  data.workspaces[0].credentials.push_back(Cred("c", "id", "s3cret", 42));
  StoredCredential federated{.name = "f",
                             .client_id = "id2",
                             .client_secret = SecretBytes(),
                             .enrolled_at = 43,
                             .federated = true,
                             .subject = "dbproxy:h:f",
                             .audience = "https://aud"};
  data.workspaces[0].credentials.push_back(std::move(federated));
  data.signing_keys.push_back(StoredSigningKey{.kid = "k1",
                                               .alg = "ES256",
                                               .created_at = 5,
                                               .retired_at = 0,
                                               .private_key_pem = SecretBytes::CopyFrom("PEM")});
  PlainBuilder want;
  want.U32(1).Str("ws").Str("https://h").U32(2);
  want.Str("c").Str("id").I64(42).U8(0).Str("s3cret");
  want.Str("f").Str("id2").I64(43).U8(1).Str("dbproxy:h:f").Str("https://aud");
  want.U32(1).Str("k1").Str("ES256").I64(5).I64(0).Str("PEM");
  Result<Bytes> sealed = SealCredentialStore(data, key, MakeNonce(9));
  ASSERT_TRUE(sealed.has_value()) << sealed.error().message;
  EXPECT_EQ(*sealed, EncryptRaw(want.bytes(), key, 2));

  Result<CredentialStoreData> opened = OpenCredentialStore(*sealed, key);
  ASSERT_TRUE(opened.has_value()) << opened.error().log_detail;
  const StoredCredential& back = opened->workspaces.at(0).credentials.at(1);
  EXPECT_TRUE(back.federated);
  EXPECT_TRUE(back.client_secret.empty());
  EXPECT_EQ(back.subject, "dbproxy:h:f");
  EXPECT_EQ(back.audience, "https://aud");
  ASSERT_EQ(opened->signing_keys.size(), 1u);
  EXPECT_EQ(opened->signing_keys[0].kid, "k1");
  EXPECT_EQ(opened->signing_keys[0].private_key_pem.view(), "PEM");
}

TEST(CredentialStoreFormatTest, FederationRulesAreEnforced) {
  const SecretBytes key = Key(3);
  auto sealed_with = [&](auto change) {
    CredentialStoreData data;
    data.workspaces.push_back({.name = "ws", .host = "https://h", .credentials = {}});
    data.workspaces[0].credentials.push_back(StoredCredential{.name = "f",
                                                              .client_id = "id",
                                                              .client_secret = SecretBytes(),
                                                              .enrolled_at = 1,
                                                              .federated = true,
                                                              .subject = "sub",
                                                              .audience = "aud"});
    change(data);
    return SealCredentialStore(data, key, MakeNonce(1));
  };
  EXPECT_TRUE(sealed_with([](CredentialStoreData&) {}));
  EXPECT_FALSE(sealed_with([](CredentialStoreData& d) {
    d.workspaces[0].credentials[0].client_secret = SecretBytes::CopyFrom("s");
  })) << "a federated credential has no secret";
  EXPECT_FALSE(
      sealed_with([](CredentialStoreData& d) { d.workspaces[0].credentials[0].subject.clear(); }));
  EXPECT_FALSE(sealed_with([](CredentialStoreData& d) {
    d.workspaces[0].credentials[0].federated = false;
    d.workspaces[0].credentials[0].client_secret = SecretBytes::CopyFrom("s");
  })) << "a subject on a secret credential";
  auto key_of = [](std::string kid, std::int64_t retired) {
    return StoredSigningKey{.kid = std::move(kid),
                            .alg = "ES256",
                            .created_at = 1,
                            .retired_at = retired,
                            .private_key_pem = SecretBytes::CopyFrom("PEM")};
  };
  EXPECT_TRUE(sealed_with([&](CredentialStoreData& d) {
    d.signing_keys.push_back(key_of("a", 5));
    d.signing_keys.push_back(key_of("b", 0));
  }));
  EXPECT_FALSE(sealed_with([&](CredentialStoreData& d) {
    d.signing_keys.push_back(key_of("a", 0));
    d.signing_keys.push_back(key_of("b", 0));
  })) << "two keys in use";
  EXPECT_FALSE(sealed_with([&](CredentialStoreData& d) {
    d.signing_keys.push_back(key_of("a", 5));
    d.signing_keys.push_back(key_of("a", 0));
  })) << "duplicate kid";
  EXPECT_FALSE(sealed_with([&](CredentialStoreData& d) {
    d.signing_keys.push_back(key_of("a", 0));
    d.signing_keys[0].alg = "HS256";
  }));
}

TEST(CredentialStoreFormatTest, SealedFileHidesSecretAndClientId) {
  const SecretBytes key = Key(1);
  const Bytes file = Seal(SampleData(), key);
  for (const std::string needle : {"dose-secret-value-1", "client-id-0001", "etl-sp", "prod"}) {
    EXPECT_EQ(std::search(file.begin(), file.end(), needle.begin(), needle.end()), file.end())
        << needle;
  }
}

TEST(CredentialStoreFormatTest, FreshNonceChangesEveryCiphertextByte) {
  const SecretBytes key = Key(1);
  EXPECT_NE(Seal(SampleData(), key, 1), Seal(SampleData(), key, 2));
}

TEST(CredentialStoreFormatTest, WrongKeyIsCorrupt) {
  const Bytes file = Seal(SampleData(), Key(1));
  Result<CredentialStoreData> opened = OpenCredentialStore(file, Key(2));
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, Errc::kCorrupt);
  EXPECT_EQ(opened.error().message, kDecryptFailed);
}

TEST(CredentialStoreFormatTest, EverySingleByteFlipIsDetected) {
  const SecretBytes key = Key(1);
  CredentialStoreData data;
  data.workspaces.push_back({.name = "w", .host = "https://h", .credentials = {}});
  data.workspaces[0].credentials.push_back(Cred("c", "i", "s", 1));
  const Bytes file = Seal(data, key);
  for (std::size_t i = 0; i < file.size(); ++i) {
    for (const unsigned char mask : {0x01, 0x80}) {
      Bytes flipped = file;
      flipped[i] ^= mask;
      Result<CredentialStoreData> opened = OpenCredentialStore(flipped, key);
      ASSERT_FALSE(opened.has_value()) << "byte " << i;
      EXPECT_EQ(opened.error().code, Errc::kCorrupt) << "byte " << i;
    }
  }
}

TEST(CredentialStoreFormatTest, EveryTruncationIsDetected) {
  const SecretBytes key = Key(1);
  const Bytes file = Seal(SampleData(), key);
  for (std::size_t len = 0; len < file.size(); ++len) {
    Result<CredentialStoreData> opened =
        OpenCredentialStore(std::span<const unsigned char>(file.data(), len), key);
    ASSERT_FALSE(opened.has_value()) << len;
    EXPECT_EQ(opened.error().code, Errc::kCorrupt) << len;
  }
}

TEST(CredentialStoreFormatTest, TrailingBytesAreDetected) {
  const SecretBytes key = Key(1);
  Bytes file = Seal(SampleData(), key);
  file.push_back(0);
  Result<CredentialStoreData> opened = OpenCredentialStore(file, key);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().message, kDecryptFailed);
}

TEST(CredentialStoreFormatTest, BadMagic) {
  const SecretBytes key = Key(1);
  for (Bytes file : {Bytes{}, Bytes{'D', 'B'}, Seal(SampleData(), key)}) {
    if (!file.empty()) file[0] = 'X';
    Result<CredentialStoreData> opened = OpenCredentialStore(file, key);
    ASSERT_FALSE(opened.has_value());
    EXPECT_EQ(opened.error().code, Errc::kCorrupt);
    EXPECT_EQ(opened.error().message, "not a dbproxy credential store");
  }
}

TEST(CredentialStoreFormatTest, UnsupportedVersions) {
  const SecretBytes key = Key(1);
  for (const std::uint32_t version : {0u, 3u, 0xFFFFFFFFu}) {
    Result<CredentialStoreData> opened =
        OpenCredentialStore(EncryptRaw(OneCredential().bytes(), key, version), key);
    ASSERT_FALSE(opened.has_value());
    EXPECT_EQ(opened.error().code, Errc::kCorrupt);
    EXPECT_EQ(opened.error().message,
              "unsupported credential store version " + std::to_string(version));
  }
}

TEST(CredentialStoreFormatTest, WrongKeySizeIsRefused) {
  SecretBytes short_key(16);
  EXPECT_EQ(OpenCredentialStore(Seal({}, Key(1)), short_key).error().code, Errc::kInvalidRequest);
  EXPECT_EQ(SealCredentialStore({}, short_key, MakeNonce(1)).error().code, Errc::kInvalidRequest);
}

}  // namespace
}  // namespace dbproxy
