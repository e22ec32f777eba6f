// End-to-end tests of `dbproxyctl audit verify`: the real binary on audit files built with the
// chain functions of common/, intact and tampered with (edit, delete, reorder, cut).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/audit/audit_chain.hpp"
#include "tests/cli/child_process.hpp"

namespace dbproxy::cli::testing {
namespace {

std::vector<std::string> ChainLines(ChainHead& head, int records, const char* reason) {
  std::vector<std::string> lines = {GenesisAuditLine(head, 1'795'917'197'000'000, "h", reason)};
  for (int i = 0; i < records; ++i) {
    lines.push_back(ChainAuditLine(
        head, R"({"time":"2026-11-29T01:53:17.000000Z","request_id":"r)" + std::to_string(i) +
                  R"(","service":"billing-etl","decision":"allow"})"));
  }
  return lines;
}

class AuditCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/dbproxyctl-audit-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ChildResult Run(const std::vector<std::string>& args) { return RunChild(DBPROXYCTL_PATH, args); }

  std::string Write(const std::string& name, const std::vector<std::string>& lines,
                    bool final_newline = true) {
    std::string text;
    for (const std::string& line : lines) text += line + "\n";
    if (!final_newline && !text.empty()) text.pop_back();
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  std::filesystem::path dir_;
};

TEST_F(AuditCommandsTest, IntactFileVerifies) {
  ChainHead head;
  const std::string file = Write("audit.log", ChainLines(head, 4, "start"));
  const ChildResult result = Run({"audit", "verify", file});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "OK: 5 lines, seq 0..4\n");
}

TEST_F(AuditCommandsTest, RotatedFilesVerifyInOrder) {
  ChainHead head;
  const std::string old_file = Write("audit.log.1", ChainLines(head, 3, "start"));
  const std::string new_file = Write("audit.log", ChainLines(head, 2, "rotate"));
  const ChildResult result = Run({"audit", "verify", old_file, new_file});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(result.out, "OK: 7 lines, seq 0..6 in 2 files\n");
}

struct Tamper {
  const char* name;
  void (*apply)(std::vector<std::string>&);
  int line;
};

class AuditVerifyTamperTest : public AuditCommandsTest,
                              public ::testing::WithParamInterface<Tamper> {};

TEST_P(AuditVerifyTamperTest, ReportsTheFirstBrokenLineAndExitsOne) {
  ChainHead head;
  std::vector<std::string> lines = ChainLines(head, 5, "start");
  GetParam().apply(lines);
  const std::string file = Write("audit.log", lines);
  const ChildResult result = Run({"audit", "verify", file});
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_EQ(result.out.rfind("BROKEN: " + file + ":" + std::to_string(GetParam().line) + ": ", 0),
            0u)
      << result.out;
  const ChildResult json = Run({"--json", "audit", "verify", file});
  EXPECT_EQ(json.exit_code, 1);
  const nlohmann::json answer = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(answer.is_object()) << json.out;
  EXPECT_EQ(answer.at("ok"), false);
  EXPECT_EQ(answer.at("line"), GetParam().line);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AuditVerifyTamperTest,
    ::testing::Values(
        Tamper{"edit", [](std::vector<std::string>& l) { l[2].replace(l[2].find("allow"), 5, "deny!"); },
               4},
        Tamper{"delete", [](std::vector<std::string>& l) { l.erase(l.begin() + 2); }, 3},
        Tamper{"reorder", [](std::vector<std::string>& l) { std::swap(l[3], l[4]); }, 4},
        Tamper{"insert", [](std::vector<std::string>& l) { l.insert(l.begin() + 1, l[1]); }, 3}),
    [](const ::testing::TestParamInfo<Tamper>& param_info) { return param_info.param.name; });

TEST_F(AuditCommandsTest, CutLastLineIsReported) {
  ChainHead head;
  std::vector<std::string> lines = ChainLines(head, 3, "start");
  lines.back().resize(lines.back().size() / 2);
  const std::string file = Write("audit.log", lines, /*final_newline=*/false);
  const ChildResult result = Run({"audit", "verify", file});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.out.find(":4: the last line has no newline"), std::string::npos) << result.out;
}

TEST_F(AuditCommandsTest, DefaultFileComesFromTheConfig) {
  ChainHead head;
  const std::string file = Write("audit.log", ChainLines(head, 1, "start"));
  const std::string config = (dir_ / "agent.toml").string();
  std::ofstream(config) << "[audit]\nfile = \"" << file << "\"\n";
  const ChildResult result = Run({"audit", "verify", "--config", config});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "OK: 2 lines, seq 0..1\n");
  const ChildResult missing = Run({"audit", "verify", "--config", (dir_ / "none.toml").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("cannot read"), std::string::npos) << missing.err;
}

TEST_F(AuditCommandsTest, UnreadableFileFails) {
  const ChildResult result = Run({"audit", "verify", (dir_ / "absent.log").string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("cannot read"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace dbproxy::cli::testing
