#include "common/identity/sock_diag_reply.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace dbproxy {
namespace {

constexpr std::uint32_t kSeq = 1;
const std::uint16_t kPort = htons(40000);

// One SOCK_DIAG_BY_FAMILY message for port kPort, uid 1000, inode 123456, with `attributes`.
std::string Reply(const std::string& attributes = "", std::uint16_t port = kPort) {
  inet_diag_msg message{};
  message.idiag_family = AF_INET;
  message.id.idiag_sport = port;
  message.idiag_uid = 1000;
  message.idiag_inode = 123456;
  nlmsghdr header{};
  header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  header.nlmsg_seq = kSeq;
  header.nlmsg_len = static_cast<std::uint32_t>(sizeof header + sizeof message + attributes.size());
  std::string out(reinterpret_cast<const char*>(&header), sizeof header);
  out.append(reinterpret_cast<const char*>(&message), sizeof message);
  return out + attributes;
}

std::string CgroupAttribute(std::uint64_t id, std::uint16_t length = 12) {
  nlattr attribute{.nla_len = length, .nla_type = INET_DIAG_CGROUP_ID};
  std::string out(reinterpret_cast<const char*>(&attribute), sizeof attribute);
  out.append(reinterpret_cast<const char*>(&id), sizeof id);
  return out;
}

Result<SockDiagAnswer> Parse(const std::string& bytes, std::uint16_t port = kPort) {
  return ParseSockDiagReply(bytes.data(), bytes.size(), port, kSeq, "not found");
}

TEST(SockDiagReplyTest, ReadsTheSocketAndItsCgroup) {
  const Result<SockDiagAnswer> plain = Parse(Reply());
  ASSERT_TRUE(plain.has_value()) << plain.error().log_detail;
  EXPECT_EQ(plain->uid, 1000u);
  EXPECT_EQ(plain->inode, 123456u);
  EXPECT_EQ(plain->cgroup_id, 0u);
  const Result<SockDiagAnswer> with_cgroup = Parse(Reply(CgroupAttribute(4242)));
  ASSERT_TRUE(with_cgroup.has_value());
  EXPECT_EQ(with_cgroup->cgroup_id, 4242u);
}

TEST(SockDiagReplyTest, RefusesWhatItCannotTrust) {
  const std::string good = Reply(CgroupAttribute(4242));
  struct Case {
    const char* name;
    std::string bytes;
    std::uint16_t port;
  };
  std::string long_length = good;
  const std::uint32_t too_long = static_cast<std::uint32_t>(good.size() + 1);
  std::memcpy(long_length.data(), &too_long, sizeof too_long);
  std::string other_sequence = good;
  const std::uint32_t seq = 7;
  std::memcpy(other_sequence.data() + offsetof(nlmsghdr, nlmsg_seq), &seq, sizeof seq);
  nlmsghdr error_header{.nlmsg_len = sizeof(nlmsghdr) + sizeof(nlmsgerr),
                        .nlmsg_type = NLMSG_ERROR, .nlmsg_flags = 0, .nlmsg_seq = kSeq,
                        .nlmsg_pid = 0};
  nlmsgerr error{};
  error.error = -ENOENT;
  std::string error_reply(reinterpret_cast<const char*>(&error_header), sizeof error_header);
  error_reply.append(reinterpret_cast<const char*>(&error), sizeof error);
  // An error the kernel never sends, but the bytes could: INT_MIN has no int negation.
  std::string int_min_reply = error_reply;
  const int int_min = std::numeric_limits<int>::min();
  std::memcpy(int_min_reply.data() + sizeof error_header, &int_min, sizeof int_min);
  const std::vector<Case> cases = {
      {"empty", "", kPort},
      {"header only", good.substr(0, sizeof(nlmsghdr)), kPort},
      {"length past the bytes", long_length, kPort},
      {"another sequence", other_sequence, kPort},
      {"another socket", Reply("", htons(40001)), kPort},
      {"attribute longer than the message", Reply(CgroupAttribute(1, 200)), kPort},
      {"attribute shorter than its header", Reply(CgroupAttribute(1, 2)), kPort},
      {"no such socket", error_reply, kPort},
      {"an error of INT_MIN", int_min_reply, kPort},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Result<SockDiagAnswer> answer = Parse(c.bytes, c.port);
    ASSERT_FALSE(answer.has_value());
    EXPECT_EQ(answer.error().code, Errc::kUnidentified);
    EXPECT_EQ(answer.error().message, "not found");
    EXPECT_FALSE(answer.error().log_detail.empty());
  }
}

}  // namespace
}  // namespace dbproxy
