#include "common/audit/audit_chain.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dbproxy {
namespace {

std::string Record(int n) {
  return R"({"time":"2026-11-29T01:53:17.000000Z","request_id":"r)" + std::to_string(n) +
         R"(","decision":"allow"})";
}

// A file: genesis + `records` lines, continuing from `head`.
std::vector<std::string> MakeLines(ChainHead& head, int records, const char* reason = "start") {
  std::vector<std::string> lines = {GenesisAuditLine(head, 1'795'917'197'000'000, "host-1", reason)};
  for (int i = 0; i < records; ++i) lines.push_back(ChainAuditLine(head, Record(i)));
  return lines;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

ChainVerdict Verify(const std::string& file) { return VerifyAuditChain({file}); }

TEST(AuditChainTest, LinesStartWithSeqAndPrev) {
  ChainHead head;
  const std::string genesis = GenesisAuditLine(head, 0, "h", "start");
  EXPECT_EQ(genesis.rfind(std::string(R"({"seq":0,"prev":")") + std::string(kZeroHash) + "\",", 0),
            0u)
      << genesis;
  const std::string line = ChainAuditLine(head, Record(1));
  EXPECT_EQ(line.rfind(R"({"seq":1,"prev":")" + HashAuditLine(genesis) + R"(","time":)", 0), 0u)
      << line;
  EXPECT_EQ(head.next_seq, 2u);
  EXPECT_EQ(head.prev_hash, HashAuditLine(line));
  const nlohmann::json json = nlohmann::json::parse(genesis);
  EXPECT_EQ(json.at("genesis"), true);
  EXPECT_EQ(json.at("reason"), "start");
  EXPECT_EQ(json.at("host"), "h");
}

TEST(AuditChainTest, HashIsSha256Hex) {
  EXPECT_EQ(HashAuditLine(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(AuditChainTest, IntactFileVerifies) {
  ChainHead head;
  const ChainVerdict verdict = Verify(Join(MakeLines(head, 5)));
  EXPECT_TRUE(verdict.ok) << verdict.why;
  EXPECT_EQ(verdict.lines, 6u);
  EXPECT_EQ(verdict.first_seq, 0u);
  EXPECT_EQ(verdict.last_seq, 5u);
}

// Issue 15, item 3: an emptied audit file verified as "OK: 0 lines".
TEST(AuditChainTest, EmptyFileIsRefusedForItsMissingGenesisLine) {
  const ChainVerdict verdict = Verify("");
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.line, 1u);
  EXPECT_NE(verdict.why.find("genesis"), std::string::npos) << verdict.why;
  ChainHead head;
  const ChainVerdict emptied_last = VerifyAuditChain({Join(MakeLines(head, 2)), ""});
  EXPECT_FALSE(emptied_last.ok);
  EXPECT_EQ(emptied_last.file, 1u);
}

TEST(AuditChainTest, RestartGenesisMidFileChains) {
  ChainHead head;
  std::vector<std::string> lines = MakeLines(head, 2);
  const std::vector<std::string> more = MakeLines(head, 2, "start");
  lines.insert(lines.end(), more.begin(), more.end());
  EXPECT_TRUE(Verify(Join(lines)).ok);
}

struct TamperCase {
  const char* name;
  void (*tamper)(std::vector<std::string>&);
  std::size_t line;   // expected 1-based line of the break
  const char* words;  // expected in `why`
};

void PrintTo(const TamperCase& c, std::ostream* os) { *os << c.name; }

class AuditChainTamperTest : public ::testing::TestWithParam<TamperCase> {};

TEST_P(AuditChainTamperTest, IsDetectedAtTheRightLine) {
  ChainHead head;
  std::vector<std::string> lines = MakeLines(head, 6);  // lines 1..7, seq 0..6
  GetParam().tamper(lines);
  const ChainVerdict verdict = Verify(Join(lines));
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.line, GetParam().line) << verdict.why;
  EXPECT_NE(verdict.why.find(GetParam().words), std::string::npos) << verdict.why;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AuditChainTamperTest,
    ::testing::Values(
        TamperCase{"edit_value",
                   [](std::vector<std::string>& l) {
                     l[3].replace(l[3].find("allow"), 5, "deny!");
                   },
                   5, "edited"},
        TamperCase{"edit_breaks_json", [](std::vector<std::string>& l) { l[2].pop_back(); }, 3,
                   "not a JSON object"},
        TamperCase{"delete_line", [](std::vector<std::string>& l) { l.erase(l.begin() + 3); }, 4,
                   "missing"},
        TamperCase{"reorder_lines", [](std::vector<std::string>& l) { std::swap(l[2], l[3]); }, 3,
                   "missing"},
        TamperCase{"duplicate_line",
                   [](std::vector<std::string>& l) { l.insert(l.begin() + 3, l[3]); }, 5,
                   "reordered or duplicated"},
        TamperCase{"delete_genesis", [](std::vector<std::string>& l) { l.erase(l.begin()); }, 1,
                   "genesis"},
        TamperCase{"blank_line", [](std::vector<std::string>& l) { l.insert(l.begin() + 2, ""); },
                   3, "not a JSON object"},
        TamperCase{"forged_seq",
                   [](std::vector<std::string>& l) {
                     l[4].replace(0, 8, R"({"seq":44)");
                   },
                   5, "missing"},
        TamperCase{"no_chain_members",
                   [](std::vector<std::string>& l) { l[2] = R"({"time":"x"})"; }, 3,
                   "not an audit chain line"}),
    [](const ::testing::TestParamInfo<TamperCase>& param_info) { return param_info.param.name; });

TEST(AuditChainTest, CutLastLineIsDetected) {
  ChainHead head;
  std::string file = Join(MakeLines(head, 3));
  file.resize(file.size() - 10);
  const ChainVerdict verdict = Verify(file);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.line, 4u);
  EXPECT_NE(verdict.why.find("no newline"), std::string::npos) << verdict.why;
}

TEST(AuditChainTest, RotatedFilesChainAcrossFiles) {
  ChainHead head;
  const std::string first = Join(MakeLines(head, 3));
  const std::string second = Join(MakeLines(head, 3, "rotate"));
  const ChainVerdict verdict = VerifyAuditChain({first, second});
  EXPECT_TRUE(verdict.ok) << verdict.why;
  EXPECT_EQ(verdict.lines, 8u);
  EXPECT_EQ(verdict.last_seq, 7u);
  // The rotated file alone starts with a genesis line: verifiable on its own.
  EXPECT_TRUE(Verify(second).ok);
  EXPECT_EQ(verdict.chains, 1u);
  // Out of order, the first file is a second chain from nothing: reported, for a human to judge.
  EXPECT_EQ(VerifyAuditChain({second, first}).chains, 2u);
  // With the first file's tail missing, the seam breaks.
  std::string cut_first = first.substr(0, first.rfind('\n', first.size() - 2) + 1);
  const ChainVerdict gap = VerifyAuditChain({cut_first, second});
  EXPECT_FALSE(gap.ok);
  EXPECT_EQ(gap.file, 1u);
  EXPECT_NE(gap.why.find("missing"), std::string::npos) << gap.why;
}

TEST(AuditChainTest, CopytruncatedFileContinuesWithoutGenesisAtTheSeam) {
  // logrotate copytruncate: the copy ends anywhere; the agent's next line after the truncation
  // is a genesis line chained to the copy's last line.
  ChainHead head;
  const std::string copy = Join(MakeLines(head, 2));
  const std::string live = Join(MakeLines(head, 1, "copytruncate"));
  EXPECT_TRUE(VerifyAuditChain({copy, live}).ok);
}

TEST(AuditChainTest, ZeroGenesisStartsANewChain) {
  ChainHead first;
  ChainHead second;
  std::vector<std::string> lines = MakeLines(first, 2);
  const std::vector<std::string> fresh = MakeLines(second, 2);
  lines.insert(lines.end(), fresh.begin(), fresh.end());
  EXPECT_TRUE(Verify(Join(lines)).ok);
}

TEST(AuditChainTest, HeadAfterContinuesTheChain) {
  ChainHead head;
  const std::vector<std::string> lines = MakeLines(head, 2);
  Result<ChainHead> after = ChainHeadAfter(lines.back());
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->next_seq, head.next_seq);
  EXPECT_EQ(after->prev_hash, head.prev_hash);
  EXPECT_FALSE(ChainHeadAfter("not json").has_value());
  EXPECT_FALSE(ChainHeadAfter(R"({"seq":-1,"prev":"x"})").has_value());
}

}  // namespace
}  // namespace dbproxy
