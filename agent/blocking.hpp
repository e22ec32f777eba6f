// RunBlocking: run a blocking function (libcurl, fsync) on the blocking-work pool and resume the
// calling coroutine on its own executor with the result.
#pragma once

#include <optional>
#include <type_traits>

#include "agent/asio.hpp"

namespace dbproxy {

template <class F>
asio::awaitable<std::invoke_result_t<F&>> RunBlocking(asio::thread_pool& pool, F fn) {
  // Boost 1.74's co_spawn needs a default-constructible result type; Result<T> is not, so the
  // value travels through an optional owned by this (suspended) frame.
  std::optional<std::invoke_result_t<F&>> out;
  co_await asio::co_spawn(
      pool.get_executor(),
      [&]() -> asio::awaitable<void> {
        out.emplace(fn());
        co_return;
      },
      asio::use_awaitable);
  co_return std::move(*out);
}

}  // namespace dbproxy
