// The kernel's reply to a NETLINK_SOCK_DIAG by-tuple request (inet_diag), read without trusting
// it: the loopback listener identifies a TCP caller by the socket the reply names (owner uid,
// inode, cgroup id). Bytes from the kernel, but a parser of lengths and offsets all the same:
// kept apart from the netlink I/O (agent/server/loopback_peer.cpp) so it is unit-tested and
// fuzzed (tests/fuzz/sock_diag_fuzz.cpp).
//
// Pure; thread-safe.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "common/core/result.hpp"

namespace dbproxy {

struct SockDiagAnswer {
  uid_t uid = 0;
  std::uint64_t inode = 0;
  std::uint64_t cgroup_id = 0;  // 0 when the kernel sent no INET_DIAG_CGROUP_ID (before 5.7)
};

// Reads the one message of `data` (`size` bytes as received): an inet_diag_msg for the socket
// whose source port is `client_port` (network byte order) with sequence number `sequence`, and
// its attributes. Errors (Errc::kUnidentified, message `not_found`, the reason in log_detail):
// a short or malformed message or attribute, another sequence number or socket, an unexpected
// type, or an NLMSG_ERROR (no such socket). Never reads outside [data, data + size).
Result<SockDiagAnswer> ParseSockDiagReply(const char* data, std::size_t size,
                                          std::uint16_t client_port, std::uint32_t sequence,
                                          const char* not_found);

}  // namespace dbproxy
