// Notifications to the service manager (sd_notify(3)): start-up, reload and stop states, a
// one-line STATUS=, and watchdog keep-alives. Every call is a no-op when NOTIFY_SOCKET is unset
// (not run by systemd, or Type= is not notify), so callers never check.
// Threading: the Notify* functions from any thread; ServiceWatchdog on the event-loop thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "agent/asio.hpp"

namespace dbproxy {

// READY=1 with STATUS=<status>: start-up finished, or a reload is over.
void NotifyReady(std::string_view status);
// RELOADING=1 with MONOTONIC_USEC=<CLOCK_MONOTONIC now> (systemd >= 253 needs the timestamp for
// Type=notify-reload; older managers ignore it).
void NotifyReloading();
// STOPPING=1 with STATUS=<status>.
void NotifyStopping(std::string_view status);
// STATUS=<status> only. Newlines in `status` are replaced (one notification field per line).
void NotifyStatus(std::string_view status);

// Sends WATCHDOG=1 from the main event loop at half the interval systemd asked for
// (WatchdogSec=, seen as $WATCHDOG_USEC/$WATCHDOG_PID), so a stuck event loop gets the service
// restarted. Each keep-alive also refreshes STATUS= from `status` when set, and is withheld
// while `responsive` (when set) returns false: the other event loops are checked through it.
class ServiceWatchdog {
 public:
  ServiceWatchdog(asio::io_context& io, std::function<std::string()> status,
                  std::function<bool(std::chrono::microseconds period)> responsive = {});
  ~ServiceWatchdog();
  ServiceWatchdog(const ServiceWatchdog&) = delete;
  ServiceWatchdog& operator=(const ServiceWatchdog&) = delete;

  // Reads (and unsets, so children do not inherit it) the watchdog request; starts the
  // keep-alives when there is one. Returns the keep-alive period, zero when disabled.
  std::chrono::microseconds Start();
  // Stops the keep-alives (the last step of shutdown: the event loop may then run dry).
  void Stop();

 private:
  asio::awaitable<void> Loop(std::chrono::microseconds period);

  asio::steady_timer timer_;
  std::function<std::string()> status_;
  std::function<bool(std::chrono::microseconds)> responsive_;
  bool stopped_ = false;
};

}  // namespace dbproxy
