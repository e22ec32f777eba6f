#include "tests/fake_workspace/http_types.hpp"

#include <algorithm>
#include <cctype>

#include "tests/fake_workspace/encoding.hpp"

namespace dbproxy::fake {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::optional<std::string_view> FakeRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

FakeReply JsonReply(int status, const nlohmann::json& body) {
  FakeReply reply;
  reply.status = status;
  reply.body = body.dump();
  return reply;
}

FakeReply ApiError(int status, const nlohmann::json& code, std::string_view message) {
  return JsonReply(status, {{"error_code", code}, {"message", message}});
}

FakeReply OAuthError(int status, std::string_view error, std::string_view description) {
  FakeReply reply = JsonReply(
      status, {{"error", error}, {"error_description", description}, {"error_id", NewUuid()}});
  reply.headers.emplace_back("Cache-Control", "no-store");
  return reply;
}

}  // namespace dbproxy::fake
