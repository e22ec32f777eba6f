#include "tests/integration/harness/unix_http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace dbproxy::testing {
namespace {

constexpr std::size_t kMaxHead = 64 * 1024;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

HttpResponse Failure(std::string what, int err) {
  HttpResponse r;
  r.error = std::move(what) + (err != 0 ? std::string(": ") + std::strerror(err) : "");
  r.sys_errno = err;
  return r;
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  const std::string key = Lower(name);
  for (const auto& [k, v] : headers) {
    if (k == key) return v;
  }
  return "";
}

nlohmann::json HttpResponse::Json() const { return nlohmann::json::parse(body, nullptr, false); }

std::string HttpResponse::Describe() const {
  if (!ok()) return "transport error: " + error;
  return std::to_string(status) + " " + body;
}

UnixHttpClient::UnixHttpClient(std::string socket_path, std::chrono::milliseconds timeout)
    : path_(std::move(socket_path)), timeout_(timeout) {}

UnixHttpClient::~UnixHttpClient() { Close(); }

UnixHttpClient::UnixHttpClient(UnixHttpClient&& other) noexcept
    : path_(std::move(other.path_)),
      timeout_(other.timeout_),
      fd_(std::exchange(other.fd_, -1)),
      requests_on_connection_(other.requests_on_connection_),
      peer_closes_(other.peer_closes_),
      buffer_(std::move(other.buffer_)) {}

void UnixHttpClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  requests_on_connection_ = 0;
  peer_closes_ = false;
  buffer_.clear();
}

HttpResponse UnixHttpClient::Connect() {
  Close();
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (!path_.empty() && path_.front() != '/') {
    // "127.0.0.1:PORT" or "[::1]:PORT": loopback TCP.
    const std::size_t colon = path_.rfind(':');
    if (colon == std::string::npos) return Failure("not host:port: " + path_, 0);
    std::string host = path_.substr(0, colon);
    const int port = std::atoi(path_.c_str() + colon + 1);
    if (host.size() > 2 && host.front() == '[') {
      host = host.substr(1, host.size() - 2);
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(static_cast<std::uint16_t>(port));
      if (::inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1) return Failure("bad address", 0);
      length = sizeof(sockaddr_in6);
    } else {
      auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
      in4->sin_family = AF_INET;
      in4->sin_port = htons(static_cast<std::uint16_t>(port));
      if (::inet_pton(AF_INET, host.c_str(), &in4->sin_addr) != 1) return Failure("bad address", 0);
      length = sizeof(sockaddr_in);
    }
  } else {
    auto* addr = reinterpret_cast<sockaddr_un*>(&storage);
    addr->sun_family = AF_UNIX;
    if (path_.size() >= sizeof(addr->sun_path)) return Failure("socket path too long", 0);
    std::memcpy(addr->sun_path, path_.c_str(), path_.size() + 1);
    length = sizeof(sockaddr_un);
  }
  const int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Failure("socket", errno);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout_.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&storage), length) != 0) {
    const int err = errno;
    ::close(fd);
    return Failure("connect " + path_, err);
  }
  fd_ = fd;
  return HttpResponse{};
}

HttpResponse UnixHttpClient::Request(std::string_view method, std::string_view target,
                                     std::string_view body, const HttpHeaders& headers) {
  std::string request;
  request.reserve(128 + body.size());
  request.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  const bool has_host = std::any_of(headers.begin(), headers.end(), [](const auto& header) {
    return strcasecmp(header.first.c_str(), "host") == 0;
  });
  if (!has_host) request.append("Host: localhost\r\n");
  for (const auto& [name, value] : headers) request.append(name).append(": ").append(value) += "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    request.append("Content-Length: ").append(std::to_string(body.size())) += "\r\n";
  }
  request.append("\r\n").append(body);

  const bool reused = fd_ >= 0 && requests_on_connection_ > 0;
  HttpResponse response = Exchange(request);
  // A kept-alive connection may have been closed by the server while idle: retry once fresh.
  const bool peer_gone = response.sys_errno == EPIPE || response.sys_errno == ECONNRESET ||
                         response.error == "connection closed by peer";
  if (!response.ok() && reused && peer_gone) response = Exchange(request);
  return response;
}

HttpResponse UnixHttpClient::Exchange(const std::string& request) {
  if (fd_ < 0 || peer_closes_) {
    HttpResponse connected = Connect();
    if (!connected.ok()) return connected;
  }
  ++requests_on_connection_;
  HttpResponse response;
  bool keep_alive = true;
  if (!SendAll(request, response) || !ReadHead(response, keep_alive) ||
      !ReadBody(response)) {
    response.status = 0;
    Close();
    return response;
  }
  if (!keep_alive) peer_closes_ = true;
  return response;
}

bool UnixHttpClient::SendAll(std::string_view data, HttpResponse& response) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      response.error = std::string("send: ") + std::strerror(errno);
      response.sys_errno = errno;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool UnixHttpClient::ReadMore(HttpResponse& response) {
  char chunk[16384];
  while (true) {
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    response.sys_errno = n < 0 ? errno : 0;
    response.error = n == 0 ? "connection closed by peer"
                            : (errno == EAGAIN ? std::string("recv: timed out")
                                               : std::string("recv: ") + std::strerror(errno));
    return false;
  }
}

bool UnixHttpClient::ReadHead(HttpResponse& response, bool& keep_alive) {
  std::size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (buffer_.size() > kMaxHead) {
      response.error = "response head too large";
      return false;
    }
    if (!ReadMore(response)) return false;
  }
  const std::string head = buffer_.substr(0, end);
  buffer_.erase(0, end + 4);
  std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) {
    response.error = "bad status line: " + status_line;
    return false;
  }
  keep_alive = status_line.compare(0, 8, "HTTP/1.1") == 0;
  response.status = std::atoi(status_line.c_str() + 9);
  while (line_end != std::string::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end - start);
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    response.headers.emplace_back(Lower(line.substr(0, colon)), Trim(line.substr(colon + 1)));
  }
  const std::string connection = Lower(response.Header("connection"));
  if (connection == "close") keep_alive = false;
  if (connection == "keep-alive") keep_alive = true;
  return true;
}

bool UnixHttpClient::ReadBody(HttpResponse& response) {
  if (Lower(response.Header("transfer-encoding")).find("chunked") != std::string::npos) {
    return ReadChunked(response);
  }
  const std::string length = response.Header("content-length");
  if (!length.empty()) {
    const auto size = static_cast<std::size_t>(std::stoull(length));
    while (buffer_.size() < size) {
      if (!ReadMore(response)) return false;
    }
    response.body = buffer_.substr(0, size);
    buffer_.erase(0, size);
    return true;
  }
  if (response.status == 204 || response.status == 304 || response.status / 100 == 1) {
    return true;
  }
  // No length: the body runs to the end of the connection.
  HttpResponse scratch;
  while (ReadMore(scratch)) {
  }
  response.body = std::move(buffer_);
  buffer_.clear();
  peer_closes_ = true;
  return true;
}

bool UnixHttpClient::ReadChunked(HttpResponse& response) {
  while (true) {
    std::size_t eol;
    while ((eol = buffer_.find("\r\n")) == std::string::npos) {
      if (!ReadMore(response)) return false;
    }
    const std::size_t size = std::stoul(buffer_.substr(0, eol), nullptr, 16);
    buffer_.erase(0, eol + 2);
    while (buffer_.size() < size + 2) {
      if (!ReadMore(response)) return false;
    }
    response.body.append(buffer_, 0, size);
    buffer_.erase(0, size + 2);
    if (size == 0) return true;  // trailers are not used by our servers
  }
}

}  // namespace dbproxy::testing
