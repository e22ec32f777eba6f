// End-to-end tests of `dbproxyctl policy ...`: the real binary on temporary directories.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/cli/child_process.hpp"

namespace dbproxy::cli::testing {
namespace {

constexpr char kPolicy[] = R"([[service]]
name = "app"
match = { unit = "app.service" }
attributes = { env = "production" }
roles = ["r"]

[[role]]
name = "r"
credential = "c"
actions = ["token:all-apis", "jobs.*"]
)";

class PolicyCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/dbproxyctl-policy-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    policy_dir_ = (dir_ / "policy.d").string();
    std::filesystem::create_directory(policy_dir_);
    Write("10-base.toml", kPolicy);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ChildResult Run(const std::vector<std::string>& args) { return RunChild(DBPROXYCTL_PATH, args); }

  void Write(const std::string& name, const std::string& content) {
    std::ofstream(policy_dir_ + "/" + name, std::ios::binary) << content;
  }

  // Creates a key pair; returns the public key text (the secret key is in dir_/<name>).
  std::string Keygen(const std::string& name = "signing.key") {
    const ChildResult result = Run({"policy", "keygen", "--out", (dir_ / name).string()});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(result.out.starts_with("ed25519:")) << result.out;
    return result.out.substr(0, result.out.find('\n'));
  }

  ChildResult Sign(const std::string& key = "signing.key") {
    return Run({"policy", "sign", "--key", (dir_ / key).string(), policy_dir_});
  }

  std::filesystem::path dir_;
  std::string policy_dir_;
};

TEST_F(PolicyCommandsTest, LintCleanPolicyExitsZeroWithNoFindings) {
  const ChildResult result = Run({"policy", "lint", policy_dir_});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "");
}

TEST_F(PolicyCommandsTest, LintWarningsOnlyExitZero) {
  Write("20-spare.toml", "[[role]]\nname = \"spare\"\ncredential = \"c\"\nactions = [\"*\"]\n");
  const ChildResult result = Run({"policy", "lint", policy_dir_});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, policy_dir_ +
                            "/20-spare.toml:1: warning: unused-role: role 'spare' is listed by "
                            "no service (only a runtime grant can use it)\n");
}

TEST_F(PolicyCommandsTest, LintErrorFindingExitsOneAndJsonListsIt) {
  Write("30-rules.toml",
        "[[rule]]\nid = \"x\"\neffect = \"deny\"\nactions = [\"jobs.run\"]\n"
        "when = { \"request.row_limit\" = { gt = 10, lt = 5 } }\n");
  const ChildResult text = Run({"policy", "lint", policy_dir_});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_TRUE(text.out.starts_with(policy_dir_ + "/30-rules.toml:1: error: never-matches: "))
      << text.out;

  const ChildResult json = Run({"policy", "lint", "--json", policy_dir_});
  EXPECT_EQ(json.exit_code, 1);
  const nlohmann::json parsed = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << json.out;
  EXPECT_EQ(parsed["errors"], nlohmann::json::array());
  ASSERT_EQ(parsed["findings"].size(), 1u);
  EXPECT_EQ(parsed["findings"][0]["code"], "never-matches");
  EXPECT_EQ(parsed["findings"][0]["severity"], "error");
  EXPECT_EQ(parsed["findings"][0]["source"], policy_dir_ + "/30-rules.toml:1");
}

TEST_F(PolicyCommandsTest, LintReportsParseErrorsWithFileAndLine) {
  Write("40-bad.toml", "[[service]]\nname = \"b\"\nmatch = { unit = \"b.service\" }\nbogus = 1\n");
  Write(".hidden.toml", "not toml at all [");
  Write("notes.txt", "not toml at all [");
  const ChildResult result = Run({"policy", "lint", policy_dir_});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.out.find(policy_dir_ + "/40-bad.toml:"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("hidden"), std::string::npos);
  EXPECT_EQ(result.out.find("notes"), std::string::npos);
}

TEST_F(PolicyCommandsTest, LintMissingDirectoryFails) {
  const ChildResult result = Run({"policy", "lint", (dir_ / "nope").string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("is not a directory"), std::string::npos) << result.err;
}

TEST_F(PolicyCommandsTest, KeygenWritesPrivateFileAndRefusesToOverwrite) {
  const std::string public_key = Keygen();
  struct stat info {};
  ASSERT_EQ(::stat((dir_ / "signing.key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::stringstream content;
  content << std::ifstream(dir_ / "signing.key").rdbuf();
  EXPECT_TRUE(content.str().starts_with("dbproxy-policy-signing-key-v1\n"));
  EXPECT_EQ(content.str().find(public_key.substr(8)), std::string::npos);  // not the public text

  const ChildResult again = Run({"policy", "keygen", "--out", (dir_ / "signing.key").string()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("refusing to overwrite"), std::string::npos) << again.err;
}

TEST_F(PolicyCommandsTest, SignThenVerify) {
  const std::string public_key = Keygen();
  const ChildResult signed_result = Sign();
  ASSERT_EQ(signed_result.exit_code, 0) << signed_result.err;
  EXPECT_EQ(signed_result.out,
            "signed " + policy_dir_ + "/policy.sig with key " + public_key + "\n");
  EXPECT_TRUE(std::filesystem::exists(policy_dir_ + "/policy.sig"));
  for (const auto& entry : std::filesystem::directory_iterator(policy_dir_)) {
    EXPECT_FALSE(entry.path().filename().string().starts_with(".")) << "temp file left behind";
  }
  const std::string other_key = Keygen("other.key");
  const ChildResult verified = Run({"policy", "verify", "--trusted-key", other_key,
                                    "--trusted-key", public_key, policy_dir_});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_EQ(verified.out, "policy bundle verified (1 files, key " + public_key + ")\n");
}

TEST_F(PolicyCommandsTest, VerifyFailsAfterAChangeOrWithAnotherKey) {
  const std::string public_key = Keygen();
  const std::string other_key = Keygen("other.key");
  ASSERT_EQ(Sign().exit_code, 0);

  const ChildResult untrusted = Run({"policy", "verify", "--trusted-key", other_key, policy_dir_});
  EXPECT_EQ(untrusted.exit_code, 1);
  EXPECT_NE(untrusted.err.find("not signed by a trusted key"), std::string::npos)
      << untrusted.err;

  Write("20-added.toml", "");
  const ChildResult changed = Run({"policy", "verify", "--trusted-key", public_key, policy_dir_});
  EXPECT_EQ(changed.exit_code, 1);
  EXPECT_NE(changed.err.find("does not match its files"), std::string::npos) << changed.err;
}

TEST_F(PolicyCommandsTest, VerifyWithoutSignatureFails) {
  const std::string public_key = Keygen();
  const ChildResult result = Run({"policy", "verify", "--trusted-key", public_key, policy_dir_});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("policy.sig"), std::string::npos) << result.err;
}

TEST_F(PolicyCommandsTest, SignRefusesBrokenPolicyAndBadKeyFile) {
  Keygen();
  Write("40-bad.toml", "[[service]]\nname = \"b\"\n");
  const ChildResult broken = Sign();
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.err.find("refusing to sign"), std::string::npos) << broken.err;
  EXPECT_FALSE(std::filesystem::exists(policy_dir_ + "/policy.sig"));

  std::ofstream(dir_ / "bad.key") << "dbproxy-policy-signing-key-v1\nAAAA\n";
  const ChildResult bad_key = Sign("bad.key");
  EXPECT_EQ(bad_key.exit_code, 1);
  EXPECT_NE(bad_key.err.find("not a policy signing key file"), std::string::npos) << bad_key.err;
}

TEST_F(PolicyCommandsTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Run({"policy"}).exit_code, 2);
  EXPECT_EQ(Run({"policy", "verify", policy_dir_}).exit_code, 2);  // --trusted-key required
  EXPECT_EQ(Run({"policy", "keygen"}).exit_code, 2);               // --out required
}

}  // namespace
}  // namespace dbproxy::cli::testing
