#include "agent/hardening.hpp"

#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace dbproxy {

Status HardenProcess() {
  if (sodium_init() < 0) return MakeError(Errc::kInternal, "libsodium failed to initialise");
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return MakeError(Errc::kInternal,
                     std::string("prctl(PR_SET_DUMPABLE) failed: ") + std::strerror(errno));
  }
  const struct rlimit no_core {0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0) {
    return MakeError(Errc::kInternal,
                     std::string("setrlimit(RLIMIT_CORE) failed: ") + std::strerror(errno));
  }
  ::umask(077);
  return Status::Ok();
}

}  // namespace dbproxy
