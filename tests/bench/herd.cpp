#include "tests/bench/herd.hpp"

#include <poll.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "tests/integration/harness/util.hpp"

namespace dbproxy::testing {
namespace {

using Clock = std::chrono::steady_clock;

struct Pending {
  int fd = -1;
  std::string received;
};

// The status of the complete response in `received`: 0 while its head or body is still
// arriving, -1 when the head is not HTTP.
int CompleteStatus(const std::string& received) {
  const std::size_t head_end = received.find("\r\n\r\n");
  if (head_end == std::string::npos) return 0;
  if (received.compare(0, 5, "HTTP/") != 0 || received.size() < 12) return -1;
  const int status = std::atoi(received.c_str() + 9);
  std::size_t length = 0;
  for (std::size_t line = received.find("\r\n"); line < head_end;
       line = received.find("\r\n", line + 2)) {
    constexpr char kName[] = "content-length:";
    if (strncasecmp(received.c_str() + line + 2, kName, sizeof kName - 1) == 0) {
      length = std::strtoul(received.c_str() + line + 2 + sizeof kName - 1, nullptr, 10);
    }
  }
  return received.size() - (head_end + 4) >= length ? status : 0;
}

void Fail(HerdResult& result, const std::string& why) {
  ++result.failed;
  if (result.first_failure.empty()) result.first_failure = why;
}

// Reads what `p` has for us; true once its answer is complete or the connection is over.
bool ReadAnswer(Pending& p, HerdResult& result, double elapsed_ms) {
  char buffer[4096];
  const ssize_t n = ::read(p.fd, buffer, sizeof buffer);
  if (n < 0 && errno == EINTR) return false;
  if (n > 0) p.received.append(buffer, static_cast<std::size_t>(n));
  const int status = CompleteStatus(p.received);
  if (status == 0 && n > 0) return false;
  if (status == 200) {
    ++result.ok;
    if (result.ok == 1) result.first_answer_ms = elapsed_ms;
    result.last_answer_ms = elapsed_ms;
  } else if (status == 0) {
    Fail(result,
         n == 0 ? "closed before a complete answer" : std::string("read: ") + std::strerror(errno));
  } else {
    Fail(result, p.received.substr(0, 300));
  }
  return true;
}

}  // namespace

HerdResult RunHerd(const HerdOptions& options) {
  HerdResult result;
  std::vector<Pending> pending;
  pending.reserve(static_cast<std::size_t>(options.connections));
  for (int i = 0; i < options.connections; ++i) {
    const int fd = ConnectUnix(options.socket);
    if (fd < 0) {
      Fail(result, std::string("connect: ") + std::strerror(errno));
      continue;
    }
    pending.push_back({.fd = fd, .received = {}});
  }
  result.connected = static_cast<int>(pending.size());
  std::this_thread::sleep_for(options.settle);

  const auto start = Clock::now();
  for (Pending& p : pending) {
    if (::write(p.fd, options.request.data(), options.request.size()) !=
        static_cast<ssize_t>(options.request.size())) {
      Fail(result, std::string("write: ") + std::strerror(errno));
      ::close(p.fd);
      p.fd = -1;
    }
  }
  std::erase_if(pending, [](const Pending& p) { return p.fd < 0; });

  const auto deadline = start + options.timeout;
  std::vector<pollfd> polled;
  while (!pending.empty() && Clock::now() < deadline) {
    polled.clear();
    for (const Pending& p : pending) {
      polled.push_back({.fd = p.fd, .events = POLLIN, .revents = 0});
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (::poll(polled.data(), polled.size(), static_cast<int>(left.count()) + 1) < 0 &&
        errno != EINTR) {
      break;
    }
    const double elapsed_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    for (std::size_t i = 0; i < polled.size(); ++i) {
      if (polled[i].revents == 0 || !ReadAnswer(pending[i], result, elapsed_ms)) continue;
      ::close(pending[i].fd);
      pending[i].fd = -1;
    }
    std::erase_if(pending, [](const Pending& p) { return p.fd < 0; });
  }
  for (const Pending& p : pending) {
    Fail(result, "no answer within " + std::to_string(options.timeout.count()) + " ms");
    ::close(p.fd);
  }
  return result;
}

long RaiseOpenFileLimit(long wanted) {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0) return -1;
  const auto target = std::min<rlim_t>(static_cast<rlim_t>(wanted), files.rlim_max);
  if (files.rlim_cur < target) {
    files.rlim_cur = target;
    if (::setrlimit(RLIMIT_NOFILE, &files) != 0) ::getrlimit(RLIMIT_NOFILE, &files);
  }
  return static_cast<long>(files.rlim_cur);
}

}  // namespace dbproxy::testing
