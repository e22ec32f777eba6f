#include "common/identity/sock_diag_reply.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace dbproxy {
namespace {

constexpr std::size_t Align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

}  // namespace

Result<SockDiagAnswer> ParseSockDiagReply(const char* data, std::size_t size,
                                          std::uint16_t client_port, std::uint32_t sequence,
                                          const char* not_found) {
  const auto refuse = [not_found](std::string detail) {
    return MakeError(Errc::kUnidentified, not_found, "sock_diag: " + std::move(detail));
  };
  nlmsghdr header{};
  if (size < sizeof header) return refuse("short reply");
  std::memcpy(&header, data, sizeof header);
  if (header.nlmsg_len < sizeof header || header.nlmsg_len > size ||
      header.nlmsg_seq != sequence) {
    return refuse("malformed reply");
  }
  const std::size_t body = Align4(sizeof header);
  if (header.nlmsg_type == NLMSG_ERROR) {
    nlmsgerr error{};
    if (header.nlmsg_len >= body + sizeof error) std::memcpy(&error, data + body, sizeof error);
    // The kernel sends -errno; negated in 64 bits, since INT_MIN has no int negation (found by
    // sock_diag_fuzz), and named by number (strerror is not thread-safe).
    const std::int64_t code = -static_cast<std::int64_t>(error.error);
    return refuse("no client socket with this tuple (errno " + std::to_string(code) + ")");
  }
  inet_diag_msg message{};
  if (header.nlmsg_type != SOCK_DIAG_BY_FAMILY || header.nlmsg_len < body + sizeof message) {
    return refuse("unexpected reply type");
  }
  std::memcpy(&message, data + body, sizeof message);
  if (message.id.idiag_sport != client_port) return refuse("the reply names another socket");
  SockDiagAnswer answer{.uid = message.idiag_uid, .inode = message.idiag_inode, .cgroup_id = 0};
  // Attributes, lengths first; INET_DIAG_CGROUP_ID (5.7+) is sent unasked when the kernel has it.
  std::size_t at = body + Align4(sizeof message);
  while (at + sizeof(nlattr) <= header.nlmsg_len) {
    nlattr attribute{};
    std::memcpy(&attribute, data + at, sizeof attribute);
    if (attribute.nla_len < sizeof attribute || attribute.nla_len > header.nlmsg_len - at) {
      return refuse("malformed attribute");
    }
    if ((attribute.nla_type & NLA_TYPE_MASK) == INET_DIAG_CGROUP_ID &&
        attribute.nla_len == sizeof attribute + sizeof answer.cgroup_id) {
      std::memcpy(&answer.cgroup_id, data + at + sizeof attribute, sizeof answer.cgroup_id);
    }
    at += Align4(attribute.nla_len);
  }
  return answer;
}

}  // namespace dbproxy
