// FakeAgent: a stand-in for dbproxyd in CLI tests. Listens on a Unix socket, records each HTTP
// request it receives and answers every one with the same canned response, then closes the
// connection. Runs one accept thread; the destructor stops it and removes the socket.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dbproxy::cli::testing {

struct RecordedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// A complete HTTP/1.1 response with a JSON body and "Connection: close".
std::string JsonResponse(int status, const std::string& body);

class FakeAgent {
 public:
  // Binds and listens on `socket_path` before returning. Throws std::runtime_error on failure.
  FakeAgent(std::string socket_path, std::string response);
  ~FakeAgent();
  FakeAgent(const FakeAgent&) = delete;
  FakeAgent& operator=(const FakeAgent&) = delete;

  std::vector<RecordedRequest> requests() const;

 private:
  void Serve();
  void HandleConnection(int fd);

  std::string socket_path_;
  std::string response_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<RecordedRequest> requests_;
  std::thread thread_;
};

}  // namespace dbproxy::cli::testing
