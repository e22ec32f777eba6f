// Reading a request on a HttpServer connection, in the two phases that decide whether an
// answer is owed: waiting for the first byte (a connection idle past its timeout simply
// closes: no request, no answer), then reading the head and the body of a request that has
// begun, each within the request timeout (past it the read fails with
// asio::error::timed_out, and the socket stays open for a 408 answer). The connection's
// ConnectionDeadline bounds each phase; it is disarmed when the read returns.
// Threading: the connection's coroutine, on the io_context's thread.
#pragma once

#include <chrono>

#include "agent/asio.hpp"
#include "agent/server/http_server.hpp"

namespace dbproxy {

// Waits up to `idle` for the first byte of the next request (unless one is buffered already).
// False when none came: the peer closed, stayed quiet or the server closed the connection.
asio::awaitable<bool> AwaitRequest(HttpStream& stream, HttpReadBuffer& buffer,
                                   ConnectionDeadline& deadline, std::chrono::seconds idle);

// Reads the rest of the head into `parser` within `timeout`; the read's error, or
// asio::error::timed_out when the time ran out first.
asio::awaitable<boost::system::error_code> ReadHeader(HttpStream& stream, HttpReadBuffer& buffer,
                                                      HttpHeaderParser& parser,
                                                      ConnectionDeadline& deadline,
                                                      std::chrono::seconds timeout);

// Reads the body into `parser` within `timeout`, with the same errors as ReadHeader.
asio::awaitable<boost::system::error_code> ReadBody(HttpStream& stream, HttpReadBuffer& buffer,
                                                    http::request_parser<http::string_body>& parser,
                                                    ConnectionDeadline& deadline,
                                                    std::chrono::seconds timeout);

}  // namespace dbproxy
