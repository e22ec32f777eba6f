#include "tests/integration/harness/echo_server.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace dbproxy::testing {
namespace {

// Content-Length of a request head, 0 when absent (the bench client always sends it).
std::size_t ContentLength(std::string_view head) {
  for (std::size_t pos = 0; (pos = head.find("\r\n", pos)) != std::string_view::npos;) {
    pos += 2;
    constexpr std::string_view kName = "content-length:";
    if (head.size() - pos < kName.size()) break;
    bool match = true;
    for (std::size_t i = 0; i < kName.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(head[pos + i])) == kName[i];
    }
    if (match) return std::strtoul(head.data() + pos + kName.size(), nullptr, 10);
  }
  return 0;
}

}  // namespace

UnixEchoServer::UnixEchoServer(std::filesystem::path socket_path, std::string body)
    : path_(std::move(socket_path)) {
  response_ = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Request-Id: echo\r\n"
              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string p = path_.string();
  if (p.size() >= sizeof(addr.sun_path)) throw std::runtime_error("socket path too long");
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  ::unlink(p.c_str());
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0 ||
      ::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 512) != 0) {
    const int err = errno;
    if (listen_fd_ >= 0) ::close(listen_fd_);
    throw std::runtime_error("echo server on " + p + ": " + std::strerror(err));
  }
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

UnixEchoServer::~UnixEchoServer() { Stop(); }

void UnixEchoServer::Stop() {
  if (stopping_.exchange(true)) return;
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const int fd : connection_fds_) ::shutdown(fd, SHUT_RDWR);
    workers.swap(workers_);
  }
  for (auto& w : workers) w.join();
  ::unlink(path_.c_str());
}

void UnixEchoServer::AcceptLoop() {
  while (!stopping_.load()) {
    // Poll with a short timeout so Stop() is seen even if shutdown() does not wake accept().
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN) continue;
      return;  // shut down
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_.load()) {
      ::close(fd);
      return;
    }
    connection_fds_.push_back(fd);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void UnixEchoServer::Serve(int fd) {
  std::string buffer;
  char chunk[16384];
  while (true) {
    const auto head_end = buffer.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      const std::size_t total = head_end + 4 + ContentLength({buffer.data(), head_end + 2});
      if (buffer.size() >= total) {
        buffer.erase(0, total);
        std::string_view out = response_;
        while (!out.empty()) {
          const ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
          if (n <= 0) break;
          out.remove_prefix(static_cast<std::size_t>(n));
        }
        if (!out.empty()) break;
        served_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
    }
    const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  // Leave the fd in connection_fds_ until here so Stop() never shuts down a reused number.
  std::erase(connection_fds_, fd);
  ::close(fd);
}

}  // namespace dbproxy::testing
