// RunUntil: drives a test's io_context until a condition holds (agent unit tests of coroutine
// code: the token broker, the identity-provider registry).
#pragma once

#include <chrono>
#include <functional>

#include "agent/asio.hpp"

namespace dbproxy::testing {

// Runs `io` in 2 ms slices until `done` holds or `timeout` passes; returns `done()`.
inline bool RunUntil(asio::io_context& io, const std::function<bool()>& done,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(2));
  }
  return done();
}

}  // namespace dbproxy::testing
