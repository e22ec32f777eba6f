#include "agent/admin/admin_audit_api.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
#include <map>

#include "agent/blocking.hpp"
#include "agent/server/responses.hpp"
#include "common/calls/http_target.hpp"

namespace dbproxy {
namespace {

constexpr std::int64_t kMaxTailBytes = 8 << 20;
constexpr std::uint64_t kMaxRecords = 10000;
constexpr std::uint64_t kMaxWaitSeconds = 25;
constexpr std::chrono::milliseconds kPollInterval{250};

struct TailQuery {
  std::uint64_t n = 100;
  std::string service;
  std::string decision;
  std::string action;
  std::optional<std::uint64_t> after_seq;
  std::uint64_t wait_seconds = 0;
};

Result<std::uint64_t> Number(const std::string& key, const std::string& text, std::uint64_t low,
                             std::uint64_t high) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < low || value > high) {
    return MakeError(Errc::kInvalidRequest, "'" + key + "' must be a number from " +
                                                std::to_string(low) + " to " + std::to_string(high));
  }
  return value;
}

Result<TailQuery> ParseTailQuery(std::string_view raw) {
  Result<std::map<std::string, std::string>> query = ParseQuery(raw);
  if (!query) return std::move(query).error();
  TailQuery out;
  for (const auto& [key, value] : *query) {
    Result<std::uint64_t> number = std::uint64_t{0};
    if (key == "n") {
      number = Number(key, value, 1, kMaxRecords);
      if (number) out.n = *number;
    } else if (key == "after_seq") {
      number = Number(key, value, 0, UINT64_MAX - 1);
      if (number) out.after_seq = *number;
    } else if (key == "wait") {
      number = Number(key, value, 0, kMaxWaitSeconds);
      if (number) out.wait_seconds = *number;
    } else if (key == "service") {
      out.service = value;
    } else if (key == "decision") {
      out.decision = value;
    } else if (key == "action") {
      out.action = value;
    } else {
      return MakeError(Errc::kInvalidRequest, "unknown parameter '" + key + "'");
    }
    if (!number) return std::move(number).error();
  }
  return out;
}

// The last kMaxTailBytes of `path`, starting at a line boundary.
Result<std::string> ReadTail(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return MakeError(Errc::kAuditUnavailable, "the audit file cannot be read",
                     "cannot read audit file " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  (void)::fstat(fd, &st);
  const std::int64_t length = std::min<std::int64_t>(st.st_size, kMaxTailBytes);
  std::string text(static_cast<std::size_t>(length), '\0');
  const ssize_t n = ::pread(fd, text.data(), text.size(), st.st_size - length);
  ::close(fd);
  text.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  if (length < st.st_size) text.erase(0, text.find('\n') + 1);
  return text;
}

bool Matches(const nlohmann::json& record, const TailQuery& query) {
  if (!record.is_object() || record.value("genesis", false)) return false;
  const auto is = [&record](const char* key, const std::string& wanted) {
    return wanted.empty() || (record.contains(key) && record[key] == wanted);
  };
  if (query.after_seq && record.value("action", "") == "admin.audit") return false;
  return is("service", query.service) && is("decision", query.decision) &&
         is("action", query.action);
}

struct Tail {
  nlohmann::json records = nlohmann::json::array();
  std::uint64_t last_seq = 0;
};

Tail Select(const std::string& text, const TailQuery& query) {
  std::deque<nlohmann::json> kept;
  Tail tail;
  if (query.after_seq) tail.last_seq = *query.after_seq;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) break;  // a line still being written
    nlohmann::json record = nlohmann::json::parse(text.substr(start, end - start), nullptr, false);
    start = end + 1;
    if (!record.is_object() || !record.contains("seq") || !record["seq"].is_number_unsigned()) {
      continue;
    }
    const auto seq = record["seq"].get<std::uint64_t>();
    if (query.after_seq && seq <= *query.after_seq) continue;
    tail.last_seq = std::max(tail.last_seq, seq);
    if (!Matches(record, query)) continue;
    kept.push_back(std::move(record));
    if (kept.size() > query.n) kept.pop_front();
  }
  for (nlohmann::json& record : kept) tail.records.push_back(std::move(record));
  return tail;
}

asio::awaitable<HttpResponse> AuditTail(AgentState& state, const HttpRequest& request,
                                        const RequestContext& context) {
  Result<TailQuery> query = ParseTailQuery(SplitRequestTarget(request.target()).query);
  if (!query) co_return ErrorResponse(query.error(), context);
  if (!state.audit || state.audit->file_path().empty()) {
    co_return ErrorResponse(MakeError(Errc::kNotFound, "no audit file is configured"), context);
  }
  const std::string path = state.audit->file_path();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(query->wait_seconds);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    Result<std::string> text = co_await RunBlocking(*state.pool, [&path] { return ReadTail(path); });
    if (!text) co_return ErrorResponse(text.error(), context);
    Tail tail = Select(*text, *query);
    if (!tail.records.empty() || std::chrono::steady_clock::now() >= deadline) {
      co_return JsonResponse(http::status::ok, {{"records", std::move(tail.records)},
                                                {"last_seq", tail.last_seq},
                                                {"file", path}});
    }
    timer.expires_after(kPollInterval);
    boost::system::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

}  // namespace

asio::awaitable<std::optional<HttpResponse>> HandleAuditAdmin(AgentState& state,
                                                              const HttpRequest& request,
                                                              const RequestContext& context,
                                                              const std::vector<std::string>& path,
                                                              AuditRecord& audit) {
  if (path != std::vector<std::string>{"v1", "audit"}) co_return std::nullopt;
  audit.action = "admin.audit";
  if (request.method() != http::verb::get) {
    co_return ErrorResponse(MakeError(Errc::kMethodNotAllowed, "use GET"), context);
  }
  HttpResponse response = co_await AuditTail(state, request, context);
  co_return response;
}

}  // namespace dbproxy
