// Socket activation: the listening sockets systemd passes to dbproxyd (systemd/dbproxyd.socket
// with FileDescriptorName=agent, systemd/dbproxyd-admin.socket with FileDescriptorName=admin).
#pragma once

#include "common/core/result.hpp"

namespace dbproxy {

struct ActivatedSockets {
  int agent = -1;  // -1: not passed, dbproxyd binds the configured path itself
  int admin = -1;
};

// Takes the descriptors passed through $LISTEN_FDS/$LISTEN_PID/$LISTEN_FDNAMES
// (sd_listen_fds_with_names(3)) and unsets those variables. Descriptors are matched by name
// ("agent", "admin"); without names (every name "unknown"), by order: agent first, then admin.
// Each must be an AF_UNIX stream socket that is already listening. The caller owns the
// returned descriptors (close-on-exec is set).
// Errors (kInvalidRequest, naming the descriptor): more than two descriptors, an unknown or
// repeated name, a descriptor that is not a listening Unix stream socket. On error every passed
// descriptor is closed.
Result<ActivatedSockets> TakeActivatedSockets();

}  // namespace dbproxy
