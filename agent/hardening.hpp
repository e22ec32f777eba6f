// Process hardening done once at start-up, before any secret is loaded.
#pragma once

#include "common/core/result.hpp"

namespace dbproxy {

// - sodium_init(): guarded memory and the CSPRNG need it;
// - PR_SET_DUMPABLE 0: no core dumps and no ptrace by same-uid processes, because our memory
//   holds client secrets and access tokens in clear;
// - RLIMIT_CORE 0: belt and braces for the same reason;
// - umask 077: files we create are private unless we chmod them on purpose;
// - RLIMIT_NOFILE soft = hard, logged: every connection holds a descriptor, and idle callers
//   must not exhaust a 1,024 soft limit (the unit sets LimitNOFILE=65536).
// Errors: kInternal naming the call that failed.
Status HardenProcess();

}  // namespace dbproxy
