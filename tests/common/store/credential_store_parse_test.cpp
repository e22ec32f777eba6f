// Plaintext parsing, naming rules and master key files of the credential store format.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/store/credential_store_format.hpp"
#include "tests/common/store/credential_store_test_util.hpp"

namespace dbproxy {
namespace {

using namespace ::dbproxy::store_test;  // NOLINT(google-build-using-namespace)

struct MalformedCase {
  const char* label;
  Bytes plain;
};

PlainBuilder Workspace(std::string_view name, std::string_view host, std::uint32_t creds) {
  PlainBuilder b;
  b.U32(1).Str(name).Str(host).U32(creds);
  return b;
}

std::vector<MalformedCase> MalformedCases() {
  const std::string long_name(257, 'a');
  const std::string long_host(2049, 'h');
  const std::string long_secret(4097, 's');
  Bytes trailing = OneCredential().bytes();
  trailing.push_back(0);
  Bytes cut = OneCredential().bytes();
  cut.pop_back();
  return {
      {"empty plaintext", {}},
      {"short count", {1, 0}},
      {"trailing byte", trailing},
      {"missing last byte", cut},
      {"workspace count over cap", PlainBuilder().U32(10001).bytes()},
      {"workspace count past end", PlainBuilder().U32(2).bytes()},
      {"credential count over cap", Workspace("ws", "https://h", 10001).bytes()},
      {"name over 256", Workspace(long_name, "https://h", 0).bytes()},
      {"host over 2048", Workspace("ws", long_host, 0).bytes()},
      {"secret over 4096", OneCredential("ws", "c", long_secret).bytes()},
      {"length past end", PlainBuilder().U32(1).U32(0xFFFFFFFF).bytes()},
      {"length just past end", PlainBuilder().U32(1).U32(3).bytes()},
      {"name 65 chars", Workspace(std::string(65, 'a'), "https://h", 0).bytes()},
      {"name with slash", Workspace("a/b", "https://h", 0).bytes()},
      {"empty name", Workspace("", "https://h", 0).bytes()},
      {"dot-dot name", Workspace("..", "https://h", 0).bytes()},
      {"host with space", Workspace("ws", "https://h x", 0).bytes()},
      {"empty host", Workspace("ws", "", 0).bytes()},
      {"bad credential name", OneCredential("ws", "c d").bytes()},
      {"empty secret", OneCredential("ws", "c", "").bytes()},
      {"duplicate workspace", PlainBuilder()
                                  .U32(2)
                                  .Str("ws")
                                  .Str("https://h")
                                  .U32(0)
                                  .Str("ws")
                                  .Str("https://g")
                                  .U32(0)
                                  .bytes()},
      {"duplicate credential", Workspace("ws", "https://h", 2)
                                   .Str("c")
                                   .Str("i")
                                   .I64(1)
                                   .Str("s")
                                   .Str("c")
                                   .Str("j")
                                   .I64(2)
                                   .Str("t")
                                   .bytes()},
  };
}

TEST(CredentialStoreParseTest, MalformedPlaintextIsCorrupt) {
  const SecretBytes key = Key(5);
  for (const MalformedCase& c : MalformedCases()) {
    Result<CredentialStoreData> opened = OpenCredentialStore(EncryptRaw(c.plain, key), key);
    ASSERT_FALSE(opened.has_value()) << c.label;
    EXPECT_EQ(opened.error().code, Errc::kCorrupt) << c.label;
    EXPECT_EQ(opened.error().message, "credential store is malformed") << c.label;
    EXPECT_FALSE(opened.error().log_detail.empty()) << c.label;
  }
}

TEST(CredentialStoreParseTest, LimitsAreInclusive) {
  const SecretBytes key = Key(5);
  const std::string host(2048, 'h');
  const std::string secret(4096, 's');
  const Bytes plain = PlainBuilder()
                          .U32(1)
                          .Str(std::string(64, 'n'))
                          .Str(host)
                          .U32(1)
                          .Str("c")
                          .Str(std::string(256, 'i'))
                          .I64(-1)
                          .Str(secret)
                          .bytes();
  Result<CredentialStoreData> opened = OpenCredentialStore(EncryptRaw(plain, key), key);
  ASSERT_TRUE(opened.has_value()) << opened.error().log_detail;
  EXPECT_EQ(opened->workspaces[0].credentials[0].client_secret.size(), 4096u);
  EXPECT_EQ(opened->workspaces[0].credentials[0].enrolled_at, -1);
}

struct SealCase {
  const char* label;
  std::string ws_name;
  std::string host;
  std::string cred_name;
  std::string client_id;
  std::string secret;
};

TEST(CredentialStoreParseTest, SealRefusesInvalidData) {
  const std::vector<SealCase> cases = {
      {"bad workspace name", "a b", "https://h", "c", "id", "zz-secret-zz"},
      {"long workspace name", std::string(65, 'w'), "https://h", "c", "id", "zz-secret-zz"},
      {"bad credential name", "ws", "https://h", "c/d", "id", "zz-secret-zz"},
      {"empty host", "ws", "", "c", "id", "zz-secret-zz"},
      {"empty client id", "ws", "https://h", "c", "", "zz-secret-zz"},
      {"client id with newline", "ws", "https://h", "c", "id\n", "zz-secret-zz"},
      {"long client id", "ws", "https://h", "c", std::string(257, 'i'), "zz-secret-zz"},
      {"empty secret", "ws", "https://h", "c", "id", ""},
      {"long secret", "ws", "https://h", "c", "id", std::string(4097, 's')},
  };
  const SecretBytes key = Key(1);
  for (const SealCase& c : cases) {
    CredentialStoreData data;
    data.workspaces.push_back({.name = c.ws_name, .host = c.host, .credentials = {}});
    data.workspaces[0].credentials.push_back(Cred(c.cred_name, c.client_id, c.secret, 0));
    Result<Bytes> sealed = SealCredentialStore(data, key, MakeNonce(1));
    ASSERT_FALSE(sealed.has_value()) << c.label;
    EXPECT_EQ(sealed.error().code, Errc::kInvalidRequest) << c.label;
    EXPECT_EQ(sealed.error().message.find(c.secret.empty() ? "\x01" : c.secret.substr(0, 12)),
              std::string::npos)
        << c.label;
  }
}

TEST(CredentialStoreParseTest, SealRefusesDuplicates) {
  const SecretBytes key = Key(1);
  CredentialStoreData data;
  data.workspaces.push_back({.name = "ws", .host = "https://h", .credentials = {}});
  data.workspaces[0].credentials.push_back(Cred("c", "id", "s", 0));
  data.workspaces[0].credentials.push_back(Cred("c", "id2", "t", 0));
  Result<Bytes> sealed = SealCredentialStore(data, key, MakeNonce(1));
  ASSERT_FALSE(sealed.has_value());
  EXPECT_EQ(sealed.error().message, "cannot store credentials: duplicate credential 'ws/c'");

  data.workspaces[0].credentials.pop_back();
  data.workspaces.push_back({.name = "ws", .host = "https://g", .credentials = {}});
  sealed = SealCredentialStore(data, key, MakeNonce(1));
  ASSERT_FALSE(sealed.has_value());
  EXPECT_EQ(sealed.error().message, "cannot store credentials: duplicate workspace name 'ws'");
}

TEST(CredentialStoreParseTest, IsValidName) {
  for (const std::string& good : std::vector<std::string>{"a", "prod", "etl-sp", "ro.sp_2", "A9",
                                                          "...", std::string(64, 'x')}) {
    EXPECT_TRUE(IsValidName(good)) << good;
  }
  for (const std::string& bad :
       std::vector<std::string>{"", ".", "..", "a b", "a/b", "é", "a\n", "a:b", "a@b",
                                std::string(65, 'x'), std::string("a\0b", 3)}) {
    EXPECT_FALSE(IsValidName(bad)) << bad;
  }
}

TEST(CredentialStoreParseTest, ParseMasterKeySizes) {
  for (const std::size_t size : {0, 1, 31, 33, 64}) {
    const Bytes contents(size, 0xAB);
    Result<SecretBytes> key = ParseMasterKey(contents);
    ASSERT_FALSE(key.has_value()) << size;
    EXPECT_EQ(key.error().code, Errc::kInvalidRequest);
    EXPECT_NE(key.error().message.find("32"), std::string::npos) << key.error().message;
    EXPECT_NE(key.error().message.find(std::to_string(size)), std::string::npos);
  }
  const Bytes good(32, 0xAB);
  Result<SecretBytes> key = ParseMasterKey(good);
  ASSERT_TRUE(key.has_value());
  EXPECT_TRUE(key->Equals(good));
}

TEST(CredentialStoreParseTest, ParseMasterKeyRefusesAllZero) {
  Result<SecretBytes> key = ParseMasterKey(Bytes(32, 0));
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, Errc::kInvalidRequest);
}

}  // namespace
}  // namespace dbproxy
