#include "common/policy/policy_bundle.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>
#include <vector>

namespace dbproxy {
namespace {

std::vector<PolicySource> Files() {
  return {PolicySource{.name = "10-base.toml", .text = "[[role]]\nname = \"r\"\n"},
          PolicySource{.name = "20-billing.toml", .text = "[[service]]\nname = \"b\"\n"}};
}

struct Keys {
  std::string public_key;
  SecretBytes secret;  // raw 64 bytes
};

Keys NewKeys() {
  Result<std::pair<std::string, SecretBytes>> generated = GenerateSigningKey();
  EXPECT_TRUE(generated);
  Result<SecretBytes> secret = ParseSigningKey(generated->second.view());
  EXPECT_TRUE(secret) << secret.error().message;
  return Keys{generated->first, std::move(*secret)};
}

std::string Sign(const std::vector<PolicySource>& files, const Keys& keys) {
  Result<std::string> signature = SignBundle(files, keys.secret);
  EXPECT_TRUE(signature) << signature.error().message;
  return *signature;
}

std::string VerifyError(const std::vector<PolicySource>& files, const std::string& signature,
                        const std::vector<std::string>& trusted) {
  const Status status = VerifyBundle(files, signature, trusted);
  if (status) return "";
  EXPECT_EQ(status.error().code, Errc::kInvalidRequest);
  return status.error().message;
}

constexpr char kMismatch[] =
    "policy bundle signature does not match its files (was a file changed after signing?)";

TEST(PolicyBundleTest, BundleBytesAreLengthPrefixedInNameOrder) {
  const std::vector<PolicySource> files = {PolicySource{.name = "b.toml", .text = "B"},
                                           PolicySource{.name = "a.toml", .text = ""}};
  const std::string expected = std::string("dbproxy-policy-bundle-v1\n") +
                               std::string("\x06\0\0\0\0\0\0\0", 8) + "a.toml" +
                               std::string(8, '\0') + std::string("\x06\0\0\0\0\0\0\0", 8) +
                               "b.toml" + std::string("\x01\0\0\0\0\0\0\0", 8) + "B";
  EXPECT_EQ(BundleBytes(files), expected);
}

TEST(PolicyBundleTest, WithBaseNamesStripsDirectories) {
  const std::vector<PolicySource> files =
      WithBaseNames({PolicySource{.name = "/etc/dbproxy/policy.d/10-a.toml", .text = "x"},
                     PolicySource{.name = "20-b.toml", .text = "y"}});
  EXPECT_EQ(files[0].name, "10-a.toml");
  EXPECT_EQ(files[1].name, "20-b.toml");
}

TEST(PolicyBundleTest, SignAndVerifyRoundTrip) {
  const Keys keys = NewKeys();
  const std::string signature = Sign(Files(), keys);
  EXPECT_TRUE(signature.starts_with("dbproxy-policy-signature-v1\nkey " + keys.public_key + "\n"));
  EXPECT_EQ(VerifyError(Files(), signature, {NewKeys().public_key, keys.public_key}), "");
  Result<BundleSignature> parsed = ParseSignatureFile(signature);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->public_key, keys.public_key);
  EXPECT_EQ(PublicKeyOf(keys.secret).value(), keys.public_key);
}

TEST(PolicyBundleTest, AnyChangeToTheFilesBreaksTheSignature) {
  const Keys keys = NewKeys();
  const std::string signature = Sign(Files(), keys);
  const std::vector<std::string> trusted = {keys.public_key};
  for (std::size_t file = 0; file < 2; ++file) {
    for (std::size_t i = 0; i < Files()[file].text.size(); ++i) {
      std::vector<PolicySource> changed = Files();
      changed[file].text[i] ^= 1;
      EXPECT_EQ(VerifyError(changed, signature, trusted), kMismatch) << file << ":" << i;
    }
  }
  std::vector<PolicySource> renamed = Files();
  renamed[1].name = "30-billing.toml";
  EXPECT_EQ(VerifyError(renamed, signature, trusted), kMismatch);
  std::vector<PolicySource> added = Files();
  added.push_back(PolicySource{.name = "99-extra.toml", .text = ""});
  EXPECT_EQ(VerifyError(added, signature, trusted), kMismatch);
  std::vector<PolicySource> removed = Files();
  removed.pop_back();
  EXPECT_EQ(VerifyError(removed, signature, trusted), kMismatch);
  // Moving bytes between a name and its text is a different bundle too.
  std::vector<PolicySource> shifted = {Files()[0], Files()[1]};
  shifted[0].text = shifted[0].text.substr(1);
  shifted[0].name += "[";
  EXPECT_EQ(VerifyError(shifted, signature, trusted), kMismatch);
}

TEST(PolicyBundleTest, UntrustedKeyIsRefused) {
  const std::string signature = Sign(Files(), NewKeys());
  EXPECT_EQ(VerifyError(Files(), signature, {NewKeys().public_key}),
            "policy bundle is not signed by a trusted key");
  EXPECT_EQ(VerifyError(Files(), signature, {}), "policy bundle is not signed by a trusted key");
}

TEST(PolicyBundleTest, InvalidTrustedKeyIsReported) {
  const Keys keys = NewKeys();
  EXPECT_TRUE(VerifyError(Files(), Sign(Files(), keys), {"ed25519:AAAA", keys.public_key})
                  .starts_with("invalid trusted key 'ed25519:AAAA'"));
}

TEST(PolicyBundleTest, MalformedSignatureFilesAreRejected) {
  const Keys keys = NewKeys();
  const std::string good = Sign(Files(), keys);
  const std::string header = "dbproxy-policy-signature-v1\n";
  const std::string key_line = "key " + keys.public_key + "\n";
  const std::string sig_line = good.substr(header.size() + key_line.size());
  const std::vector<std::string> bad = {
      "",
      "dbproxy-policy-signature-v2\n" + key_line + sig_line,
      header + key_line,
      header + sig_line + key_line,
      good + "\n",
      good.substr(0, good.size() - 1),
      header + key_line + "sig AAAA\n",
      header + key_line + sig_line.substr(0, sig_line.size() - 4) + "==\n",
      header + "key ed25519:AAAA\n" + sig_line,
      header + "key " + keys.public_key.substr(8) + "\n" + sig_line,
      header + key_line + "sig  " + sig_line.substr(4),
      std::string(2000, 'x'),
  };
  for (const std::string& text : bad) {
    EXPECT_TRUE(VerifyError(Files(), text, {keys.public_key}).starts_with("malformed policy.sig"))
        << text;
  }
}

TEST(PolicyBundleTest, PublicKeysParseStrictly) {
  const Keys keys = NewKeys();
  ASSERT_TRUE(ParsePublicKey(keys.public_key));
  EXPECT_EQ(ParsePublicKey(keys.public_key)->size(), 32u);
  const std::string b64 = keys.public_key.substr(8);
  const std::vector<std::string> bad = {
      "", "ed25519:", b64, "ED25519:" + b64, "ed25519:" + b64 + "\n", " ed25519:" + b64,
      "ed25519:" + b64.substr(0, b64.size() - 1),  // missing padding
      "ed25519:" + std::string(40, 'A') + "=",      // 30 bytes
      "ed25519:" + std::string(44, 'A'),            // 33 bytes, no padding
      "ed25519:" + b64.substr(0, 42) + "B=",        // non-zero padding bits
      "ed25519:" + b64.substr(0, 10) + "-" + b64.substr(11),  // URL-safe alphabet
  };
  for (const std::string& text : bad) EXPECT_FALSE(ParsePublicKey(text)) << text;
}

// Found by policy_bundle_fuzz: libsodium 1.0.18 decodes some bytes outside the base64 alphabet
// (e.g. 0x96 0xC0 read as "//"), so a second spelling of a signature or key was accepted.
TEST(PolicyBundleTest, BytesOutsideTheBase64AlphabetAreRefused) {
  const Keys keys = NewKeys();
  const std::string good = Sign(Files(), keys);
  ASSERT_FALSE(VerifyError(Files(), good, {keys.public_key}).size());
  const std::size_t sig = good.find("\nsig ") + 5;
  const std::string b64 = keys.public_key.substr(8);
  for (const std::string& junk : {std::string("\x96\xc0"), std::string("\xff\xff"),
                                 std::string("\x80\x80"), std::string(" ."), std::string("\0\0")}) {
    std::string signature = good;
    signature.replace(sig + 10, 2, junk);
    EXPECT_FALSE(ParseSignatureFile(signature)) << junk;
    EXPECT_FALSE(ParsePublicKey("ed25519:" + b64.substr(0, 10) + junk + b64.substr(12))) << junk;
  }
}

TEST(PolicyBundleTest, SigningKeyFilesParseStrictly) {
  Result<std::pair<std::string, SecretBytes>> generated = GenerateSigningKey();
  ASSERT_TRUE(generated);
  const std::string file(generated->second.view());  // test key only
  ASSERT_TRUE(ParseSigningKey(file));
  const std::string header = "dbproxy-policy-signing-key-v1\n";
  const std::string b64 = file.substr(header.size(), file.size() - header.size() - 1);
  ASSERT_EQ(b64.size(), 88u);
  std::string damaged = b64;
  damaged[50] = damaged[50] == 'A' ? 'B' : 'A';  // the public half no longer fits the seed
  const std::vector<std::string> bad = {
      "", header, file.substr(0, file.size() - 1), file + "\n", "x" + file,
      "dbproxy-policy-signing-key-v2\n" + b64 + "\n",
      header + b64.substr(0, 86) + "A=\n",  // wrong padding
      header + damaged + "\n",
      header + std::string(86, 'A') + "==\n",  // 64 zero bytes: seed and public half disagree
  };
  for (const std::string& text : bad) EXPECT_FALSE(ParseSigningKey(text)) << text;
  EXPECT_FALSE(SignBundle(Files(), SecretBytes(32)));
}

}  // namespace
}  // namespace dbproxy
