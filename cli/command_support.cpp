#include "cli/command_support.hpp"

#include "common/core/duration.hpp"

#include <unistd.h>

#include <cerrno>
#include <optional>

#include "cli/output.hpp"
#include "common/core/secret_bytes.hpp"

namespace dbproxy::cli {
namespace {

void WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t written = ::write(fd, text.data(), text.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;  // nowhere left to report it
    text.remove_prefix(static_cast<std::size_t>(written));
  }
}

int ReportAgentError(const AgentResponse& response, const nlohmann::json& parsed,
                     const GlobalOptions& options) {
  const std::optional<std::string> line = FormatErrorLine(parsed);
  if (!line) {
    PrintError("unexpected answer from dbproxyd (HTTP " + std::to_string(response.status) + ")");
    return kExitFailure;
  }
  if (options.json) WriteOut(PrettyJson(parsed));
  WriteAll(STDERR_FILENO, *line + "\n");
  return kExitFailure;
}

}  // namespace

void WriteOut(std::string_view text) { WriteAll(STDOUT_FILENO, text); }

void PrintError(std::string_view message) {
  std::string line = "dbproxyctl: ";
  line += message;
  line += '\n';
  WriteAll(STDERR_FILENO, line);
}

JsonAnswer PostJsonToAdmin(const std::string& target, const nlohmann::json& body,
                           const GlobalOptions& options) {
  const std::string text = body.dump();
  const AgentRequest request{
      .method = "POST",
      .target = target,
      .body = {reinterpret_cast<const unsigned char*>(text.data()), text.size()},
      .content_type = "application/json",
  };
  return CallAgent(AgentClient(options.admin_socket), request, options);
}

bool ParseForOption(const std::string& text, std::int64_t& seconds) {
  seconds = 0;
  if (text.empty()) return true;
  const Result<std::int64_t> parsed = ParseDuration(text);
  if (!parsed) {
    PrintError("--for: " + parsed.error().message);
    return false;
  }
  seconds = *parsed;
  return true;
}

JsonAnswer CallAgent(const AgentClient& client, const AgentRequest& request,
                     const GlobalOptions& options, bool sensitive) {
  Result<AgentResponse> response = client.Send(request);
  if (!response) {
    PrintError(response.error().message);
    const bool unreachable = response.error().code == Errc::kUpstreamUnavailable;
    return {.exit_code = unreachable ? kExitUnreachable : kExitFailure, .answer = {}};
  }
  nlohmann::json parsed = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (sensitive) WipeString(response->body);
  if (parsed.is_discarded()) {
    PrintError("unexpected answer from dbproxyd (HTTP " + std::to_string(response->status) +
               ", not JSON)");
    return {.exit_code = kExitFailure, .answer = {}};
  }
  if (response->status < 200 || response->status > 299) {
    return {.exit_code = ReportAgentError(*response, parsed, options), .answer = {}};
  }
  return {.exit_code = kExitOk, .answer = std::move(parsed)};
}

int PrintAnswer(const GlobalOptions& options, const nlohmann::json& answer,
                const std::function<std::string(const nlohmann::json&)>& human) {
  WriteOut(options.json ? PrettyJson(answer) : human(answer));
  return kExitOk;
}

void WipeJsonStrings(nlohmann::json& value) noexcept {
  if (value.is_string()) {
    WipeString(value.get_ref<std::string&>());
  } else if (value.is_structured()) {
    for (auto& item : value) WipeJsonStrings(item);
  }
}

}  // namespace dbproxy::cli
