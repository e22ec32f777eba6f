#include "agent/server/request_reads.hpp"

namespace dbproxy {
namespace {

// The read's error, or timed_out when the deadline cancelled it.
boost::system::error_code Outcome(const boost::system::error_code& ec,
                                  ConnectionDeadline& deadline) {
  const bool expired = ec && deadline.expired();
  deadline.Disarm();
  return expired ? boost::system::error_code(asio::error::timed_out) : ec;
}

// Feeds what `buffer` holds to `parser` without any I/O: a request that arrived whole (the usual
// small one, in one segment) is parsed here, and the Beast read that would follow is skipped
// along with the round through the event loop its completion costs even when it needs no
// read. Whether the parser reached `Done`; `ec` set on a parse error (a limit, malformed).
template <class Parser, class DoneFn>
bool ParseBuffered(Parser& parser, HttpReadBuffer& buffer, DoneFn done,
                   boost::system::error_code& ec) {
  while (!done(parser) && buffer.size() > 0) {
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more) {
      ec = {};
      return false;
    }
    if (ec || used == 0) return false;
  }
  return done(parser);
}

}  // namespace

asio::awaitable<bool> AwaitRequest(HttpStream& stream, HttpReadBuffer& buffer,
                                   ConnectionDeadline& deadline, std::chrono::seconds idle) {
  if (buffer.size() > 0) co_return true;
  constexpr std::size_t kFirstRead = 4096;
  deadline.Arm(idle, ConnectionDeadline::OnExpiry::kClose);
  boost::system::error_code ec;
  const std::size_t n = co_await stream.async_read_some(
      buffer.prepare(kFirstRead), asio::redirect_error(asio::use_awaitable, ec));
  deadline.Disarm();
  buffer.commit(n);
  co_return !ec && n > 0;
}

asio::awaitable<boost::system::error_code> ReadHeader(HttpStream& stream, HttpReadBuffer& buffer,
                                                      HttpHeaderParser& parser,
                                                      ConnectionDeadline& deadline,
                                                      std::chrono::seconds timeout) {
  boost::system::error_code ec;
  if (ParseBuffered(parser, buffer, [](const auto& p) { return p.is_header_done(); }, ec) ||
      ec) {
    co_return ec;
  }
  deadline.Arm(timeout, ConnectionDeadline::OnExpiry::kCancel);
  co_await http::async_read_header(stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
  co_return Outcome(ec, deadline);
}

asio::awaitable<boost::system::error_code> ReadBody(HttpStream& stream, HttpReadBuffer& buffer,
                                                    http::request_parser<http::string_body>& parser,
                                                    ConnectionDeadline& deadline,
                                                    std::chrono::seconds timeout) {
  boost::system::error_code ec;
  if (ParseBuffered(parser, buffer, [](const auto& p) { return p.is_done(); }, ec) || ec) {
    co_return ec;
  }
  deadline.Arm(timeout, ConnectionDeadline::OnExpiry::kCancel);
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  co_return Outcome(ec, deadline);
}

}  // namespace dbproxy
