#include "common/core/caller_identity.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace dbproxy {
namespace {

struct CgroupCase {
  const char* label;
  std::string text;  // /proc/<pid>/cgroup
  std::string path;
  std::string unit;
};

void PrintTo(const CgroupCase& c, std::ostream* os) {
  *os << c.label;
}

class CallerIdentityCgroupTest : public ::testing::TestWithParam<CgroupCase> {};

TEST_P(CallerIdentityCgroupTest, PathAndUnit) {
  EXPECT_EQ(CgroupPathFromCgroupFile(GetParam().text), GetParam().path);
  EXPECT_EQ(UnitFromCgroupFile(GetParam().text), GetParam().unit);
}

// This machine's own /proc/self/cgroup (hybrid hierarchy, no systemd).
constexpr char kHybridNoSystemd[] =
    "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
    "4:memory:/process_api/0f864977ff2edc298db9df318d3ba0c9\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n"
    "0::/\n";

constexpr char kHybridSystemd[] =
    "12:pids:/system.slice/billing-etl.service\n"
    "5:cpu,cpuacct:/system.slice/billing-etl.service\n"
    "1:name=systemd:/system.slice/billing-etl.service\n"
    "0::/\n";

INSTANTIATE_TEST_SUITE_P(
    Files, CallerIdentityCgroupTest,
    ::testing::Values(
        CgroupCase{"cgroup2 service", "0::/system.slice/billing-etl.service\n",
                   "/system.slice/billing-etl.service", "billing-etl.service"},
        CgroupCase{"cgroup2 without trailing newline", "0::/system.slice/a.service",
                   "/system.slice/a.service", "a.service"},
        CgroupCase{"nested slices", "0::/system.slice/team.slice/team-etl.slice/job.service\n",
                   "/system.slice/team.slice/team-etl.slice/job.service", "job.service"},
        CgroupCase{"template instance", "0::/system.slice/system-worker.slice/worker@3.service\n",
                   "/system.slice/system-worker.slice/worker@3.service", "worker@3.service"},
        CgroupCase{"init scope", "0::/init.scope\n", "/init.scope", "init.scope"},
        CgroupCase{"user session", "0::/user.slice/user-1000.slice/session-3.scope\n",
                   "/user.slice/user-1000.slice/session-3.scope", "session-3.scope"},
        CgroupCase{"user manager's service",
                   "0::/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service\n",
                   "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service",
                   "user@1000.service"},
        CgroupCase{"delegated sub-cgroup", "0::/system.slice/x.service/sub\n",
                   "/system.slice/x.service/sub", "x.service"},
        CgroupCase{"delegated sub-cgroup named like another unit",
                   "0::/system.slice/evil.service/billing-etl.service\n",
                   "/system.slice/evil.service/billing-etl.service", "evil.service"},
        CgroupCase{"hybrid with name=systemd", kHybridSystemd, "/system.slice/billing-etl.service",
                   "billing-etl.service"},
        CgroupCase{"hybrid, unified wins when it is not the root",
                   "1:name=systemd:/system.slice/old.service\n0::/system.slice/new.service\n",
                   "/system.slice/new.service", "new.service"},
        CgroupCase{"legacy v1 only", "3:cpu:/\n1:name=systemd:/system.slice/v1.service\n",
                   "/system.slice/v1.service", "v1.service"},
        CgroupCase{"this machine (hybrid, root everywhere)", kHybridNoSystemd, "/", ""},
        CgroupCase{"root", "0::/\n", "/", ""},
        CgroupCase{"slice only", "0::/system.slice\n", "/system.slice", ""},
        CgroupCase{"directory that is not a unit", "0::/docker/abc123\n", "/docker/abc123", ""},
        CgroupCase{"non-unit directory before a unit", "0::/lxc/system.slice/x.service\n",
                   "/lxc/system.slice/x.service", ""},
        CgroupCase{"mount unit is not a process unit", "0::/system.slice/home.mount\n",
                   "/system.slice/home.mount", ""},
        CgroupCase{"empty", "", "/", ""},
        CgroupCase{"only controller lines", "4:memory:/system.slice/m.service\n", "/", ""},
        CgroupCase{"garbage lines skipped", "junk\nno-second-colon:x\n0::/a.service\n",
                   "/a.service", "a.service"},
        CgroupCase{"path containing a colon", "0::/system.slice/a:b.service\n",
                   "/system.slice/a:b.service", "a:b.service"},
        CgroupCase{"unified line with controllers is not unified",
                   "0:cpu:/system.slice/fake.service\n0::/system.slice/real.service\n",
                   "/system.slice/real.service", "real.service"}));

// This machine's /proc/self/status, shortened to lines of each kind (the parser ignores all
// but State, Uid, Gid and Groups). Note "Groups:\t \n" for a process without supplementary groups.
constexpr char kRealStatus[] =
    "Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t13633\nNgid:\t0\nPid:\t13633\n"
    "PPid:\t13628\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t256\n"
    "Groups:\t \nNStgid:\t13633\nNSpid:\t13633\nNSpgid:\t13628\nNSsid:\t12687\nKthread:\t0\n"
    "VmPeak:\t    3060 kB\nVmSize:\t    3060 kB\nVmRSS:\t    1608 kB\nThreads:\t1\n"
    "SigQ:\t0/96365\nCapEff:\t000001fffeffffff\nCpus_allowed_list:\t0-1\n"
    "voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n";

TEST(CallerIdentityTest, ParsesRealProcStatus) {
  std::optional<ProcStatus> status = ParseProcStatus(kRealStatus);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->real_uid, 0u);
  EXPECT_EQ(status->effective_uid, 0u);
  EXPECT_EQ(status->real_gid, 0u);
  EXPECT_EQ(status->effective_gid, 0u);
  EXPECT_TRUE(status->groups.empty());
  EXPECT_EQ(status->state, 'R');
  EXPECT_FALSE(status->Exited());
}

TEST(CallerIdentityTest, ParsesRealAndEffectiveIdsAndGroups) {
  const std::string text =
      "Name:\tpython3\nState:\tS (sleeping)\nUid:\t1000\t1001\t1002\t1003\n"
      "Gid:\t2000\t2001\t2002\t2003\n"
      "Groups:\t4 24 27 30 4294967294 \nVmRSS:\t  100 kB\n";
  std::optional<ProcStatus> status = ParseProcStatus(text);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->real_uid, 1000u);
  EXPECT_EQ(status->effective_uid, 1001u);
  EXPECT_EQ(status->real_gid, 2000u);
  EXPECT_EQ(status->effective_gid, 2001u);
  EXPECT_EQ(status->groups, (std::vector<gid_t>{4, 24, 27, 30, 4294967294u}));
}

TEST(CallerIdentityTest, LineOrderDoesNotMatter) {
  std::optional<ProcStatus> status =
      ParseProcStatus("Groups:\t7\nGid:\t5\t5\t5\t5\nUid:\t3\t3\t3\t3\nState:\tZ (zombie)");
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->real_uid, 3u);
  EXPECT_EQ(status->real_gid, 5u);
  EXPECT_EQ(status->groups, std::vector<gid_t>{7});
  EXPECT_EQ(status->state, 'Z');
}

struct BadStatusCase {
  const char* label;
  std::string text;
};

void PrintTo(const BadStatusCase& c, std::ostream* os) {
  *os << c.label;
}

class CallerIdentityBadStatusTest : public ::testing::TestWithParam<BadStatusCase> {};

constexpr char kState[] = "State:\tS (sleeping)\n";
constexpr char kGid[] = "Gid:\t0\t0\t0\t0\n";
constexpr char kGroups[] = "Groups:\t\n";
constexpr char kUid[] = "Uid:\t0\t0\t0\t0\n";

// Each case has a valid State: line, so it is rejected for what its label says.
TEST_P(CallerIdentityBadStatusTest, IsRejected) {
  EXPECT_FALSE(ParseProcStatus(kState + GetParam().text).has_value());
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, CallerIdentityBadStatusTest,
    ::testing::Values(
        BadStatusCase{"nothing but State", ""},
        BadStatusCase{"missing Uid", std::string(kGid) + kGroups},
        BadStatusCase{"missing Gid", std::string(kUid) + kGroups},
        BadStatusCase{"missing Groups", std::string(kUid) + kGid},
        BadStatusCase{"three uids", std::string("Uid:\t1\t1\t1\n") + kGid + kGroups},
        BadStatusCase{"five gids", std::string(kUid) + "Gid:\t1\t1\t1\t1\t1\n" + kGroups},
        BadStatusCase{"empty Uid", std::string("Uid:\n") + kGid + kGroups},
        BadStatusCase{"word uid", std::string("Uid:\troot\t0\t0\t0\n") + kGid + kGroups},
        BadStatusCase{"negative uid", std::string("Uid:\t-1\t0\t0\t0\n") + kGid + kGroups},
        BadStatusCase{"plus sign", std::string("Uid:\t+1\t0\t0\t0\n") + kGid + kGroups},
        BadStatusCase{"uid overflows 32 bits",
                      std::string("Uid:\t4294967296\t0\t0\t0\n") + kGid + kGroups},
        BadStatusCase{"hex uid", std::string("Uid:\t0x1\t0\t0\t0\n") + kGid + kGroups},
        BadStatusCase{"trailing junk on a number",
                      std::string("Uid:\t1000kB\t0\t0\t0\n") + kGid + kGroups},
        BadStatusCase{"bad group", std::string(kUid) + kGid + "Groups:\t4 x 27\n"},
        BadStatusCase{"group overflows", std::string(kUid) + kGid + "Groups:\t99999999999\n"},
        BadStatusCase{"keys are case sensitive",
                      std::string("uid:\t0\t0\t0\t0\n") + kGid + kGroups}));

struct StateCase {
  const char* label;
  std::string line;  // the State: line, without its newline
  char state;        // 0: the status is rejected
  bool exited;
};

void PrintTo(const StateCase& c, std::ostream* os) {
  *os << c.label;
}

class CallerIdentityStateTest : public ::testing::TestWithParam<StateCase> {};

TEST_P(CallerIdentityStateTest, LetterAndExited) {
  const StateCase& c = GetParam();
  const std::optional<ProcStatus> status =
      ParseProcStatus(std::string(kUid) + c.line + "\n" + kGid + kGroups);
  if (c.state == 0) {
    EXPECT_FALSE(status.has_value());
    return;
  }
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, c.state);
  EXPECT_EQ(status->Exited(), c.exited);
}

INSTANTIATE_TEST_SUITE_P(
    Lines, CallerIdentityStateTest,
    ::testing::Values(
        StateCase{"running", "State:\tR (running)", 'R', false},
        StateCase{"sleeping", "State:\tS (sleeping)", 'S', false},
        StateCase{"disk sleep", "State:\tD (disk sleep)", 'D', false},
        StateCase{"stopped", "State:\tT (stopped)", 'T', false},
        StateCase{"tracing stop", "State:\tt (tracing stop)", 't', false},
        StateCase{"idle", "State:\tI (idle)", 'I', false},
        StateCase{"zombie", "State:\tZ (zombie)", 'Z', true},
        StateCase{"dead", "State:\tX (dead)", 'X', true},
        StateCase{"letter alone", "State:\tZ", 'Z', true},
        StateCase{"spaces before the letter", "State:   S (sleeping)", 'S', false},
        StateCase{"missing", "Name:\tcat", 0, false},
        StateCase{"empty", "State:\t", 0, false},
        StateCase{"digit", "State:\t1 (one)", 0, false},
        StateCase{"two letters", "State:\tZZ (zombie)", 0, false},
        StateCase{"word", "State:\tzombie", 0, false},
        StateCase{"lower-case key", "state:\tR (running)", 0, false}));

TEST(CallerIdentityTest, InGroupChecksPrimaryAndSupplementary) {
  CallerIdentity identity;
  identity.gid = 100;
  identity.groups = {4, 27, 1000};
  EXPECT_TRUE(identity.InGroup(100));
  EXPECT_TRUE(identity.InGroup(4));
  EXPECT_TRUE(identity.InGroup(1000));
  EXPECT_FALSE(identity.InGroup(5));
  EXPECT_FALSE(identity.InGroup(0));

  CallerIdentity no_supplementary;
  no_supplementary.gid = 0;
  EXPECT_TRUE(no_supplementary.InGroup(0));
  EXPECT_FALSE(no_supplementary.InGroup(1));
}

}  // namespace
}  // namespace dbproxy
