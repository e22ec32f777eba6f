// The integration-test harness: real dbproxyd, dbproxyctl and fake workspace processes,
// driven from a test through sockets, with every resource owned by an RAII object.
//
//   util.hpp              HarnessStatus, WaitFor, file helpers
//   process.hpp           TempDir, Identity, Process
//   unix_http_client.hpp  HTTP/1.1 keep-alive client over a Unix socket
//   run_as.hpp            RunAs (fn in a child under another uid/cgroup), TestCgroup
//   fake_workspace.hpp    FakeWorkspace (dbproxy-fake-workspace + its control channel)
//   agent.hpp             Agent (dbproxyd with a generated config) and Ctl (dbproxyctl)
#pragma once

#include "tests/integration/harness/agent.hpp"
#include "tests/integration/harness/fake_workspace.hpp"
#include "tests/integration/harness/process.hpp"
#include "tests/integration/harness/run_as.hpp"
#include "tests/integration/harness/unix_http_client.hpp"
#include "tests/integration/harness/util.hpp"
