// The one way dbproxy code includes Asio and Beast.
//
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>; g++ 12 then fails
// with "'exchange' is not a member of 'std'". Including <utility> first fixes it. Keep this
// header out of common/ and out of widely included headers: it dominates compile time.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace dbproxy {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
}  // namespace dbproxy
