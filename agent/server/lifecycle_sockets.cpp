#include "agent/server/lifecycle_sockets.hpp"

#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace dbproxy {
namespace {

// sd_listen_fds_with_names hands back a malloc'd NULL-terminated array of malloc'd strings.
struct NamesDeleter {
  void operator()(char** names) const {
    for (char** name = names; *name != nullptr; ++name) std::free(*name);
    std::free(static_cast<void*>(names));
  }
};
using NameList = std::unique_ptr<char*, NamesDeleter>;

void CloseAll(int count) {
  for (int i = 0; i < count; ++i) ::close(SD_LISTEN_FDS_START + i);
}

Error Invalid(std::string message) {
  return MakeError(Errc::kInvalidRequest, "socket activation: " + std::move(message));
}

}  // namespace

Result<ActivatedSockets> TakeActivatedSockets() {
  char** raw_names = nullptr;
  const int count = sd_listen_fds_with_names(/*unset_environment=*/1, &raw_names);
  const NameList names(raw_names);
  if (count < 0) return Invalid(std::string("cannot read LISTEN_FDS: ") + std::strerror(-count));
  ActivatedSockets sockets;
  if (count == 0) return sockets;
  if (count > 2) {
    CloseAll(count);
    return Invalid("expected at most 2 sockets (agent, admin), got " + std::to_string(count));
  }
  for (int i = 0; i < count; ++i) {
    const int fd = SD_LISTEN_FDS_START + i;
    std::string name = names ? names.get()[i] : "unknown";
    if (name == "unknown" || name.empty()) name = i == 0 ? "agent" : "admin";
    int* slot = name == "agent" ? &sockets.agent : name == "admin" ? &sockets.admin : nullptr;
    std::string problem;
    if (slot == nullptr) {
      problem = "unknown FileDescriptorName '" + name + "' (use agent or admin)";
    } else if (*slot != -1) {
      problem = "two sockets named '" + name + "'";
    } else if (sd_is_socket_unix(fd, SOCK_STREAM, /*listening=*/1, nullptr, 0) <= 0) {
      problem = "socket '" + name + "' (fd " + std::to_string(fd) +
                ") is not a listening AF_UNIX stream socket";
    }
    if (!problem.empty()) {
      CloseAll(count);
      return Invalid(problem);
    }
    *slot = fd;
  }
  return sockets;
}

}  // namespace dbproxy
