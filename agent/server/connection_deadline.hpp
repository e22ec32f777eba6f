// ConnectionDeadline: the one deadline of a connection. A read or write of a request arms it;
// the server's sweeper (one timer for every connection, HttpServer) acts on it when it passes.
// An Asio timer per read and write re-arms the kernel's timerfd several times per request; a
// time point compared once per tick costs nothing per request. The price is precision: a
// deadline acts up to one tick late (HttpServer: a quarter of the shortest timeout, at most
// 1 s), which timeouts counted in seconds can afford.
// Threading: the connection's coroutine and the sweeper, both on the server's thread.
#pragma once

#include <chrono>

namespace dbproxy {

class ConnectionDeadline {
 public:
  using Clock = std::chrono::steady_clock;
  // What passing the deadline does to the connection's socket.
  enum class OnExpiry {
    kClose,   // close it: an idle connection, a response that cannot be written
    kCancel,  // cancel its pending operations and mark expired(): the caller may answer 408
  };

  void Arm(std::chrono::seconds after, OnExpiry what) {
    at_ = Clock::now() + after;
    what_ = what;
    expired_ = false;
  }
  void Disarm() { at_ = Clock::time_point::max(); }

  // Whether a kCancel deadline passed since it was armed.
  bool expired() const { return expired_; }

  // The sweeper: whether the deadline has passed at `now`; if so disarms it, marks it expired
  // and says what to do.
  bool Due(Clock::time_point now, OnExpiry* what) {
    if (now < at_) return false;
    at_ = Clock::time_point::max();
    expired_ = true;
    *what = what_;
    return true;
  }

 private:
  Clock::time_point at_ = Clock::time_point::max();
  OnExpiry what_ = OnExpiry::kClose;
  bool expired_ = false;
};

}  // namespace dbproxy
