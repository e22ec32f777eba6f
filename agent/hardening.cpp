#include "agent/hardening.hpp"

#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "agent/log.hpp"

namespace dbproxy {
namespace {

// One descriptor per connection, idle keep-alive ones included: a soft limit of 1,024 (a shell's
// or a unit's without LimitNOFILE=) is exhausted by a few hundred idle callers. Raising the
// soft limit up to the hard one needs no privilege.
Status RaiseOpenFileLimit() {
  struct rlimit files {};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0) {
    return MakeError(Errc::kInternal,
                     std::string("getrlimit(RLIMIT_NOFILE) failed: ") + std::strerror(errno));
  }
  files.rlim_cur = files.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &files) != 0) {
    return MakeError(Errc::kInternal,
                     std::string("setrlimit(RLIMIT_NOFILE) failed: ") + std::strerror(errno));
  }
  Log(LogLevel::kInfo, "open-file limit " + (files.rlim_max == RLIM_INFINITY
                                                  ? std::string("unlimited")
                                                  : std::to_string(files.rlim_max)) +
                           " (soft raised to the hard limit)");
  return Status::Ok();
}

}  // namespace

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
  return RaiseOpenFileLimit();
}

}  // namespace dbproxy
