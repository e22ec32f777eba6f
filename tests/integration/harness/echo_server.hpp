// UnixEchoServer: an in-process HTTP/1.1 server on a Unix socket that answers every request
// with one fixed response, keep-alive. The benchmark's baseline ("what the socket and the
// client cost") and the harness self-test's server.
#pragma once

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dbproxy::testing {

// Threading: one accept thread plus one thread per connection; Stop() (or the destructor)
// closes every socket and joins every thread.
class UnixEchoServer {
 public:
  // Listens on `socket_path`; every response carries `body` (Content-Type: application/json).
  // Throws std::runtime_error when it cannot listen.
  UnixEchoServer(std::filesystem::path socket_path, std::string body);
  ~UnixEchoServer();
  UnixEchoServer(const UnixEchoServer&) = delete;
  UnixEchoServer& operator=(const UnixEchoServer&) = delete;

  void Stop();
  const std::filesystem::path& socket_path() const { return path_; }
  long requests_served() const { return served_.load(); }

 private:
  void AcceptLoop();
  void Serve(int fd);

  std::filesystem::path path_;
  std::string response_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<long> served_{0};
  std::thread acceptor_;
  std::mutex mutex_;  // guards connection_fds_ and workers_
  std::vector<int> connection_fds_;
  std::vector<std::thread> workers_;
};

}  // namespace dbproxy::testing
