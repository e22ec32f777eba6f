// A coroutine waiting, on its own event loop, for work another thread finishes.
//
// The token broker's single flight, the IdP registry's JWKS fetch and the audit trail's
// durable commits all have callers on any event loop waiting for one result landed by another
// thread. Each caller makes a LoopWaiter on its own loop, registers it (under the owner's lock)
// where the landing thread will find it, releases the lock and co_awaits Wait(). The landing
// thread calls Wake(). The timer is only ever touched on its own loop: Wake posts there.
#pragma once

#include <chrono>
#include <memory>

#include "agent/asio.hpp"

namespace dbproxy {

class LoopWaiter {
 public:
  // `loop`: the executor of the coroutine that will call Wait().
  explicit LoopWaiter(const asio::any_io_executor& loop)
      : timer_(loop, std::chrono::steady_clock::time_point::max()) {}

  // Returns once woken, with the value given to Wake(). Call once, on the constructor's loop.
  asio::awaitable<bool> Wait() {
    if (!woken_) {
      boost::system::error_code ignored;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    co_return ok_;
  }

  // From any thread, once. Ends Wait() on its loop, even one that has not begun yet. Takes the
  // reference: the waiter's last one must die on its own loop, where its timer belongs.
  static void Wake(std::shared_ptr<LoopWaiter> waiter, bool ok = false) {
    if (!waiter) return;
    const asio::any_io_executor loop = waiter->timer_.get_executor();
    asio::post(loop, [waiter = std::move(waiter), ok] {
      waiter->ok_ = ok;
      waiter->woken_ = true;
      waiter->timer_.cancel();
    });
  }

 private:
  asio::steady_timer timer_;
  bool woken_ = false;  // both touched only on the timer's loop
  bool ok_ = false;
};

}  // namespace dbproxy
