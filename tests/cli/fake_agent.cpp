#include "tests/cli/fake_agent.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace dbproxy::cli::testing {
namespace {

std::string ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    default: return "Status";
  }
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

RecordedRequest ParseHead(const std::string& head) {
  RecordedRequest request;
  std::size_t line_end = head.find("\r\n");
  const std::string request_line = head.substr(0, line_end);
  const std::size_t first_space = request_line.find(' ');
  const std::size_t second_space = request_line.find(' ', first_space + 1);
  request.method = request_line.substr(0, first_space);
  request.target = request_line.substr(first_space + 1, second_space - first_space - 1);
  while (line_end != std::string::npos && line_end + 2 < head.size()) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end - start);
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::size_t value_start = colon + 1;
    while (value_start < line.size() && line[value_start] == ' ') ++value_start;
    request.headers[Lower(line.substr(0, colon))] = line.substr(value_start);
  }
  return request;
}

}  // namespace

std::string JsonResponse(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + ReasonPhrase(status) +
         "\r\nContent-Type: application/json\r\nX-Request-Id: req-test\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

FakeAgent::FakeAgent(std::string socket_path, std::string response)
    : socket_path_(std::move(socket_path)), response_(std::move(response)) {
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (listen_fd_ < 0 || socket_path_.size() >= sizeof address.sun_path) {
    throw std::runtime_error("fake agent: socket");
  }
  std::memcpy(address.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 8) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error(std::string("fake agent: bind: ") + std::strerror(errno));
  }
  thread_ = std::thread([this] { Serve(); });
}

FakeAgent::~FakeAgent() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
  ::unlink(socket_path_.c_str());
}

std::vector<RecordedRequest> FakeAgent::requests() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

void FakeAgent::Serve() {
  while (!stop_) {
    pollfd waiting{.fd = listen_fd_, .events = POLLIN, .revents = 0};
    if (::poll(&waiting, 1, 20) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    HandleConnection(fd);
    ::close(fd);
  }
}

void FakeAgent::HandleConnection(int fd) {
  const timeval timeout{.tv_sec = 2, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string data;
  char buffer[4096];
  std::size_t head_end = std::string::npos;
  std::size_t body_size = 0;
  RecordedRequest request;
  for (;;) {
    if (head_end == std::string::npos && (head_end = data.find("\r\n\r\n")) != std::string::npos) {
      request = ParseHead(data.substr(0, head_end));
      const auto length = request.headers.find("content-length");
      body_size = length == request.headers.end() ? 0 : std::stoul(length->second);
    }
    if (head_end != std::string::npos && data.size() >= head_end + 4 + body_size) break;
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got <= 0) return;  // client gave up or timed out: nothing to record
    data.append(buffer, static_cast<std::size_t>(got));
  }
  request.body = data.substr(head_end + 4, body_size);
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(std::move(request));
  }
  (void)::send(fd, response_.data(), response_.size(), MSG_NOSIGNAL);
}

}  // namespace dbproxy::cli::testing
