#include "tests/fake_workspace/control.hpp"

#include <algorithm>
#include <initializer_list>
#include <string>

#include "tests/fake_workspace/oauth/fake_idp.hpp"
#include "tests/fake_workspace/oauth/federation_control.hpp"
#include "tests/fake_workspace/oauth/scopes.hpp"

namespace dbproxy::fake {
namespace {

FakeReply Ok() {
  return JsonReply(200, {{"ok", true}});
}

bool IsIntIn(const nlohmann::json& value, std::int64_t low, std::int64_t high) {
  return value.is_number_integer() && value.get<std::int64_t>() >= low &&
         value.get<std::int64_t>() <= high;
}

FakeReply RegisterClient(const FakeRequest& request, WorkspaceState& state) {
  const auto body = ParseControlObject(request, {"client_id", "client_secret", "scopes"});
  if (!body || !body->contains("client_id") || !body->contains("client_secret") ||
      !(*body)["client_id"].is_string() || !(*body)["client_secret"].is_string() ||
      (*body)["client_id"].get_ref<const std::string&>().empty()) {
    return ControlError("expected {\"client_id\",\"client_secret\",\"scopes\"?:[...]}");
  }
  ClientRecord record{.secret = (*body)["client_secret"].get<std::string>()};
  if (body->contains("scopes")) {
    const auto& scopes = (*body)["scopes"];
    if (!scopes.is_array()) return ControlError("scopes must be an array of scope names");
    record.allowed_scopes.emplace();
    for (const auto& scope : scopes) {
      if (!scope.is_string() || !ParseScope(scope.get<std::string>())) {
        return ControlError("invalid scope in scopes: " + scope.dump());
      }
      record.allowed_scopes->push_back(scope.get<std::string>());
    }
  }
  state.clients[(*body)["client_id"].get<std::string>()] = std::move(record);
  return Ok();
}

FakeReply Configure(const FakeRequest& request, WorkspaceState& state) {
  const auto body = ParseControlObject(request, {"token_lifetime_seconds"});
  if (!body) return ControlError("expected {\"token_lifetime_seconds\"?:N}");
  if (body->contains("token_lifetime_seconds")) {
    const auto& lifetime = (*body)["token_lifetime_seconds"];
    if (!IsIntIn(lifetime, 1, 7 * 24 * 3600)) {
      return ControlError("token_lifetime_seconds must be 1..604800");
    }
    state.token_lifetime = std::chrono::seconds(lifetime.get<std::int64_t>());
  }
  return Ok();
}

FakeReply AddFault(const FakeRequest& request, WorkspaceState& state) {
  const auto body = ParseControlObject(
      request,
      {"target", "count", "status", "retry_after", "latency_ms", "drop", "body", "cut_after_bytes",
       "drop_after_request_bytes", "for_ms"});
  if (!body || !body->contains("target") || !(*body)["target"].is_string()) {
    return ControlError("expected {\"target\":\"token\"|\"api\",\"count\",...}");
  }
  const std::string target = (*body)["target"].get<std::string>();
  if (target == "handshake") {
    // Connections are counted (the control channel's own included), or failed for a while:
    // the control channel cannot end a fault it cannot reach, so a long one is timed.
    if (body->size() == 2 && body->contains("count") && IsIntIn((*body)["count"], 1, 1000000)) {
      state.handshake_faults += (*body)["count"].get<int>();
      return Ok();
    }
    if (body->size() == 2 && body->contains("for_ms") && IsIntIn((*body)["for_ms"], 1, 600000)) {
      state.handshake_faults_until = std::chrono::steady_clock::now() +
                                     std::chrono::milliseconds((*body)["for_ms"].get<int>());
      return Ok();
    }
    return ControlError("a handshake fault takes only a count or only a for_ms");
  }
  if (body->contains("for_ms")) return ControlError("for_ms is for handshake faults");
  if (target != "token" && target != "api") {
    return ControlError("target must be token, api or handshake");
  }
  const nlohmann::json& b = *body;
  Fault fault;
  if (b.contains("count") && !IsIntIn(b["count"], 1, 1000000)) return ControlError("bad count");
  if (b.contains("status") && !IsIntIn(b["status"], 100, 599)) return ControlError("bad status");
  if (b.contains("retry_after") && !IsIntIn(b["retry_after"], 0, 86400)) {
    return ControlError("bad retry_after");
  }
  if (b.contains("latency_ms") && !IsIntIn(b["latency_ms"], 0, 600000)) {
    return ControlError("bad latency_ms");
  }
  if (b.contains("drop") && !b["drop"].is_boolean()) return ControlError("drop must be boolean");
  if (b.contains("cut_after_bytes") && !IsIntIn(b["cut_after_bytes"], 0, 1 << 30)) {
    return ControlError("bad cut_after_bytes");
  }
  if (b.contains("drop_after_request_bytes") &&
      (target != "api" || !IsIntIn(b["drop_after_request_bytes"], 0, 1 << 30))) {
    return ControlError("bad drop_after_request_bytes (api faults only)");
  }
  if (b.contains("drop_after_request_bytes")) {
    fault.drop_after_request_bytes =
        static_cast<std::size_t>(b["drop_after_request_bytes"].get<int>());
  }
  if (b.contains("cut_after_bytes")) {
    fault.cut_after_bytes = static_cast<std::size_t>(b["cut_after_bytes"].get<int>());
  }
  fault.remaining = b.value("count", 1);
  fault.status = b.value("status", 0);
  if (b.contains("retry_after")) fault.retry_after_seconds = b["retry_after"].get<int>();
  fault.latency_ms = b.value("latency_ms", 0);
  fault.drop = b.value("drop", false);
  if (b.contains("body")) fault.body = b["body"];
  if (fault.status == 0 && fault.latency_ms == 0 && !fault.drop && !fault.cut_after_bytes &&
      !fault.drop_after_request_bytes) {
    return ControlError(
        "a fault needs status, latency_ms, drop, cut_after_bytes or drop_after_request_bytes");
  }
  auto& queue = target == "token" ? state.token_faults : state.api_faults;
  if (queue.size() >= WorkspaceState::kFaultQueueLimit) return ControlError("too many faults");
  queue.push_back(std::move(fault));
  return Ok();
}

FakeReply CountersReply(const WorkspaceState& state) {
  return JsonReply(200, {{"token_requests", state.counters.token_requests},
                         {"token_grants", state.counters.token_grants},
                         {"api_requests", state.counters.api_requests},
                         {"tokens_active", state.tokens.size()}});
}

FakeReply Requests(const FakeRequest& request, const WorkspaceState& state) {
  std::size_t limit = 100;
  if (const auto param = request.query.find("limit"); param != request.query.end()) {
    const nlohmann::json value = nlohmann::json::parse(param->second, nullptr, false);
    if (!IsIntIn(value, 0, WorkspaceState::kRequestLogLimit)) return ControlError("bad limit");
    limit = value.get<std::size_t>();
  }
  nlohmann::json entries = nlohmann::json::array();
  const std::size_t first = state.request_log.size() - std::min(limit, state.request_log.size());
  for (std::size_t i = first; i < state.request_log.size(); ++i) {
    const LoggedRequest& logged = state.request_log[i];
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [name, value] : logged.headers)
      headers[name] = value;
    nlohmann::json entry = {{"method", logged.method},
                            {"target", logged.target},
                            {"headers", headers},
                            {"body_bytes", logged.body_bytes}};
    if (logged.body) entry["body"] = *logged.body;
    entries.push_back(std::move(entry));
  }
  return JsonReply(200, entries);
}

void Reset(WorkspaceState& state) {
  state.counters = {};
  state.token_faults.clear();
  state.api_faults.clear();
  state.handshake_faults = 0;
  state.handshake_faults_until = {};
  state.request_log.clear();
  state.federation.stats = {};
}

}  // namespace

FakeReply ControlError(std::string_view message) {
  return JsonReply(400, {{"error", message}});
}

std::optional<nlohmann::json> ParseControlObject(const FakeRequest& request,
                                                 std::initializer_list<std::string_view> known) {
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) return std::nullopt;
  for (const auto& [key, value] : body.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) return std::nullopt;
  }
  return body;
}

FakeReply HandleControlRequest(const FakeRequest& request, WorkspaceState& state) {
  const std::string_view path = request.path;
  const bool post = request.method == "POST";
  if (post && path == "/_fake/clients") return RegisterClient(request, state);
  if (post && path == "/_fake/config") return Configure(request, state);
  if (post && path == "/_fake/faults") return AddFault(request, state);
  if (post && path == "/_fake/tokens/revoke-all") {
    state.tokens.clear();
    return Ok();
  }
  if (post && path == "/_fake/reset") {
    Reset(state);
    return Ok();
  }
  if (request.method == "GET" && path == "/_fake/counters") return CountersReply(state);
  if (std::optional<FakeReply> idp = HandleIdpControl(request, state)) return *std::move(idp);
  if (auto federation = HandleFederationControl(request, state)) return *std::move(federation);
  if (request.method == "GET" && path == "/_fake/requests") return Requests(request, state);
  return JsonReply(404,
                   {{"error", "no control endpoint " + request.method + " " + request.target}});
}

}  // namespace dbproxy::fake
