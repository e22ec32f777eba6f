// status (agent summary, admin socket) and whoami (how the agent sees the caller, agent socket).
#include <set>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands/commands.hpp"
#include "cli/output.hpp"

namespace dbproxy::cli {
namespace {

std::string Count(const nlohmann::json& object, const char* key) { return Field(object, key); }

// "12 (10 allowed, 2 denied, 0 errors)"
std::string RequestsLine(const nlohmann::json& requests) {
  return Count(requests, "total") + " (" + Count(requests, "allowed") + " allowed, " +
         Count(requests, "denied") + " denied, " + Count(requests, "errors") + " errors)";
}

// "8 hits, 2 misses (80% hits), 1 refreshes, 2 grants, 0 failures"
std::string TokenCacheLine(const nlohmann::json& cache) {
  const nlohmann::json& ratio = Member(cache, "hit_ratio");
  const std::string percent =
      ratio.is_number() ? std::to_string(static_cast<int>(ratio.get<double>() * 100 + 0.5)) + "%"
                        : std::string("-");
  return Count(cache, "hits") + " hits, " + Count(cache, "misses") + " misses (" + percent +
         " hits), " + Count(cache, "refreshes") + " refreshes, " + Count(cache, "grants") +
         " grants, " + Count(cache, "failures") + " failures";
}

// "healthy, 0 queued, 0 write failures" / "FAILING, ..." / "off"
std::string AuditLine(const nlohmann::json& audit) {
  if (Member(audit, "enabled") == false) return "off";
  const bool healthy = Member(audit, "healthy") == true;
  return std::string(healthy ? "healthy" : "FAILING") + ", " + Count(audit, "queue_depth") +
         " queued, " + Count(audit, "write_failures") + " write failures, " +
         Count(audit, "journal_failures") + " journal failures";
}

std::string StatusLines(const nlohmann::json& answer) {
  KeyValues lines = {
      {"version", Field(answer, "version")},
      {"started_at", FormatTimestamp(Member(answer, "started_at"))},
      {"uptime", Member(answer, "uptime_seconds").is_number()
                     ? FormatDuration(Member(answer, "uptime_seconds").get<std::int64_t>())
                     : Field(answer, "uptime_seconds")},
      {"workspaces", Field(answer, "workspaces")},
      {"credentials", Field(answer, "credentials")},
      {"tokens_cached", Field(answer, "tokens_cached")},
      {"services", Field(answer, "services")},
      {"roles", Field(answer, "roles")},
      {"policy_revision", Field(answer, "policy_revision")},
      {"requests", RequestsLine(Member(answer, "requests"))},
      {"token_cache", TokenCacheLine(Member(answer, "token_cache"))},
      {"audit", AuditLine(Member(answer, "audit"))},
  };
  // Fields added to the API later still show up, after the known ones.
  static const std::set<std::string> kKnown = {
      "version",     "started_at",    "uptime_seconds", "workspaces",
      "credentials", "tokens_cached", "services",       "roles",
      "policy_revision", "requests", "token_cache", "audit"};
  if (answer.is_object()) {
    for (const auto& [key, value] : answer.items()) {
      if (kKnown.count(key) == 0) lines.emplace_back(Sanitize(key), JsonCell(value));
    }
  }
  return FormatKeyValues(lines);
}

int RunStatus(const GlobalOptions& options) {
  const JsonAnswer answer =
      CallAgent(AgentClient(options.admin_socket), {.target = "/v1/status"}, options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer, StatusLines);
}

std::string WhoamiLines(const nlohmann::json& answer) {
  const nlohmann::json& service = Member(answer, "service");
  return FormatKeyValues({
      {"uid", Field(answer, "uid")},
      {"user", Field(answer, "user")},
      {"gid", Field(answer, "gid")},
      {"pid", Field(answer, "pid")},
      {"exe", Field(answer, "exe")},
      {"unit", Field(answer, "unit")},
      {"service", service.is_null() ? "(none)" : JsonCell(service)},
      {"attributes", Field(answer, "attributes")},
      {"roles", Field(answer, "roles")},
      {"workspace", Field(answer, "workspace")},
  });
}

int RunWhoami(const GlobalOptions& options) {
  const JsonAnswer answer =
      CallAgent(AgentClient(options.socket), {.target = "/v1/whoami"}, options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer, WhoamiLines);
}

}  // namespace

void RegisterStatusCommands(CLI::App& app, const GlobalOptions& options, CommandAction& action) {
  app.add_subcommand("status", "Show the agent's status summary")
      ->callback([&options, &action] { action = [&options] { return RunStatus(options); }; });
  app.add_subcommand("whoami", "Show how the agent identifies the calling process")
      ->callback([&options, &action] { action = [&options] { return RunWhoami(options); }; });
}

}  // namespace dbproxy::cli
