#include "agent/server/request_reads.hpp"

#include <memory>

namespace dbproxy {
namespace {

// Bounds the reads of a request that has begun. basic_stream's own timeout closes the socket,
// which would leave nobody to tell; this one only cancels the pending read, so the caller can
// still be answered 408.
class RequestDeadline {
 public:
  RequestDeadline(HttpStream& stream, std::chrono::seconds after)
      : timer_(stream.get_executor()), state_(std::make_shared<State>()) {
    stream.expires_never();
    timer_.expires_after(after);
    // The handler may run after this object is gone: it touches the socket only while armed.
    timer_.async_wait(
        [state = state_, socket = &stream.socket()](const boost::system::error_code& ec) {
          if (ec || !state->armed) return;
          state->expired = true;
          boost::system::error_code ignored;
          socket->cancel(ignored);
        });
  }
  ~RequestDeadline() {
    state_->armed = false;
    timer_.cancel();
  }
  RequestDeadline(const RequestDeadline&) = delete;
  RequestDeadline& operator=(const RequestDeadline&) = delete;

  // The error of the read this deadline bounded; asio::error::timed_out when it expired.
  boost::system::error_code Outcome(const boost::system::error_code& ec) const {
    return ec && state_->expired ? boost::system::error_code(asio::error::timed_out) : ec;
  }

 private:
  struct State {
    bool armed = true;
    bool expired = false;
  };
  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

}  // namespace

asio::awaitable<bool> AwaitRequest(HttpStream& stream, HttpReadBuffer& buffer,
                                   std::chrono::seconds idle) {
  if (buffer.size() > 0) co_return true;
  constexpr std::size_t kFirstRead = 4096;
  stream.expires_after(idle);
  boost::system::error_code ec;
  const std::size_t n = co_await stream.async_read_some(
      buffer.prepare(kFirstRead), asio::redirect_error(asio::use_awaitable, ec));
  buffer.commit(n);
  co_return !ec && n > 0;
}

asio::awaitable<boost::system::error_code> ReadHeader(HttpStream& stream, HttpReadBuffer& buffer,
                                                      HttpHeaderParser& parser,
                                                      std::chrono::seconds timeout) {
  RequestDeadline deadline(stream, timeout);
  boost::system::error_code ec;
  co_await http::async_read_header(stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
  co_return deadline.Outcome(ec);
}

asio::awaitable<boost::system::error_code> ReadBody(HttpStream& stream, HttpReadBuffer& buffer,
                                                    http::request_parser<http::string_body>& parser,
                                                    std::chrono::seconds timeout) {
  RequestDeadline deadline(stream, timeout);
  boost::system::error_code ec;
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  co_return deadline.Outcome(ec);
}

}  // namespace dbproxy
