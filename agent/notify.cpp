#include "agent/notify.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdint>

#include "agent/log.hpp"

namespace dbproxy {
namespace {

std::string OneLine(std::string_view text) {
  std::string line(text);
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return line;
}

void Send(const std::string& message) {
  // sd_notify returns 0 when NOTIFY_SOCKET is unset and < 0 on a send failure; neither may stop
  // the agent, but a failure under systemd is worth a line.
  if (sd_notify(0, message.c_str()) < 0) Log(LogLevel::kWarning, "sd_notify failed");
}

std::uint64_t MonotonicMicros() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1000000U +
         static_cast<std::uint64_t>(now.tv_nsec) / 1000U;
}

}  // namespace

void NotifyReady(std::string_view status) { Send("READY=1\nSTATUS=" + OneLine(status)); }

void NotifyReloading() {
  Send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(MonotonicMicros()));
}

void NotifyStopping(std::string_view status) { Send("STOPPING=1\nSTATUS=" + OneLine(status)); }

void NotifyStatus(std::string_view status) { Send("STATUS=" + OneLine(status)); }

ServiceWatchdog::ServiceWatchdog(asio::io_context& io, std::function<std::string()> status,
                                 std::function<bool(std::chrono::microseconds)> responsive)
    : timer_(io), status_(std::move(status)), responsive_(std::move(responsive)) {}

ServiceWatchdog::~ServiceWatchdog() { Stop(); }

std::chrono::microseconds ServiceWatchdog::Start() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(/*unset_environment=*/1, &usec) <= 0 || usec == 0) {
    return std::chrono::microseconds(0);
  }
  // Half the interval, as sd_watchdog_enabled(3) recommends: one late tick is not fatal.
  const std::chrono::microseconds period(usec / 2 > 0 ? usec / 2 : 1);
  asio::co_spawn(timer_.get_executor(), Loop(period), asio::detached);
  return period;
}

void ServiceWatchdog::Stop() {
  stopped_ = true;
  timer_.cancel();
}

asio::awaitable<void> ServiceWatchdog::Loop(std::chrono::microseconds period) {
  while (!stopped_) {
    if (!responsive_ || responsive_(period)) {
      Send(status_ ? "WATCHDOG=1\nSTATUS=" + OneLine(status_()) : std::string("WATCHDOG=1"));
    }
    timer_.expires_after(period);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace dbproxy
