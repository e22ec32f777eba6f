#include "tests/fake_workspace/api/api_context.hpp"

namespace dbproxy::fake {

std::variant<nlohmann::json, FakeReply> ParseJsonBody(const FakeRequest& request) {
  if (request.body.empty()) return nlohmann::json::object();
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return ApiError(400, "MALFORMED_REQUEST", "Invalid JSON given in the body of the request");
  }
  return body;
}

FakeReply InvalidParameter(std::string_view message) {
  return ApiError(400, "INVALID_PARAMETER_VALUE", message);
}

}  // namespace dbproxy::fake
