// The agent holds one descriptor per idle connection: it must not stop at the 1,024 soft
// open-file limit a shell or a unit without LimitNOFILE= gives it, so it raises its soft limit
// to the hard one at start.
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <sstream>

#include "tests/integration/harness/integration_fixture.hpp"

namespace dbproxy::testing {
namespace {

struct Limits {
  rlim_t soft = 0;
  rlim_t hard = 0;
};

// The "Max open files" line of /proc/<pid>/limits; zeros when absent.
Limits OpenFileLimitsOf(pid_t pid) {
  const std::string text = ReadFile("/proc/" + std::to_string(pid) + "/limits");
  const std::size_t at = text.find("Max open files");
  Limits limits;
  if (at == std::string::npos) return limits;
  std::istringstream line(text.substr(at + std::string_view("Max open files").size()));
  line >> limits.soft >> limits.hard;
  return limits;
}

class OpenFileLimitTest : public IntegrationTest {};

TEST_F(OpenFileLimitTest, AgentRaisesItsSoftLimitToTheHardLimit) {
  rlimit original{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);
  ASSERT_GT(original.rlim_max, 2u);
  // The agent inherits a soft limit below its hard limit, as from a login shell.
  rlimit lowered = original;
  lowered.rlim_cur = original.rlim_max > 1024 ? 1024 : original.rlim_max / 2;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  const HarnessStatus started = StartAgent();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &original), 0);
  ASSERT_TRUE(started.ok()) << started.error;

  const Limits limits = OpenFileLimitsOf(agent_->process()->pid());
  EXPECT_EQ(limits.hard, original.rlim_max);
  EXPECT_EQ(limits.soft, limits.hard) << ReadFile("/proc/" +
                                                  std::to_string(agent_->process()->pid()) +
                                                  "/limits");
  EXPECT_NE(agent_->Stderr().find("open-file limit " + std::to_string(original.rlim_max)),
            std::string::npos)
      << agent_->Stderr();
}

}  // namespace
}  // namespace dbproxy::testing
