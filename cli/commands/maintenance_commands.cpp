// maintenance on | off | status: the maintenance switch, global, per service or per workspace
// (admin socket).
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands/commands.hpp"
#include "cli/output.hpp"
#include "common/store/credential_store_format.hpp"
#include "common/core/duration.hpp"
#include "common/runtime/runtime_api.hpp"

namespace dbproxy::cli {
namespace {

struct MaintenanceArgs {
  std::string service;    // --service
  std::string workspace;  // --workspace; neither: global
  std::string reason;
  std::string for_text;  // empty: until switched off
};

// The scope and target chosen by --service / --workspace (CLI11 makes them exclusive), or
// nullopt after reporting an invalid name.
std::optional<MaintenanceKey> KeyOf(const MaintenanceArgs& args) {
  MaintenanceKey key;
  if (!args.service.empty()) key = {.scope = MaintenanceScope::kService, .target = args.service};
  if (!args.workspace.empty()) {
    key = {.scope = MaintenanceScope::kWorkspace, .target = args.workspace};
  }
  if (key.scope != MaintenanceScope::kGlobal && !IsValidName(key.target)) {
    PrintError("invalid name '" + Sanitize(key.target) + "': names match [A-Za-z0-9._-]{1,64}");
    return std::nullopt;
  }
  return key;
}

// "globally", "for service billing-etl", "for workspace prod".
std::string Describe(const MaintenanceKey& key) {
  if (key.scope == MaintenanceScope::kGlobal) return "globally";
  return "for " + std::string(ScopeName(key.scope)) + " " + key.target;
}

int RunOn(const GlobalOptions& options, const MaintenanceArgs& args) {
  const std::optional<MaintenanceKey> key = KeyOf(args);
  if (!key) return kExitUsage;
  MaintenanceRequest on{.scope = key->scope, .target = key->target, .reason = args.reason,
                        .for_seconds = 0};
  if (!ParseForOption(args.for_text, on.for_seconds)) return kExitUsage;
  const JsonAnswer answer = PostJsonToAdmin("/v1/maintenance", MaintenanceRequestToJson(on), options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer, [&key](const nlohmann::json& reply) {
    const nlohmann::json& until = Member(Member(reply, "maintenance"), "until");
    return "maintenance on " + Describe(*key) +
           (until.is_null() ? " until switched off" : " until " + FormatTimestamp(until)) + "\n";
  });
}

int RunOff(const GlobalOptions& options, const MaintenanceArgs& args) {
  const std::optional<MaintenanceKey> key = KeyOf(args);
  if (!key) return kExitUsage;
  const JsonAnswer answer =
      CallAgent(AgentClient(options.admin_socket),
                {.method = "DELETE", .target = "/v1/maintenance?" + MaintenanceQuery(*key)},
                options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer, [&key](const nlohmann::json&) {
    return "maintenance off " + Describe(*key) + "\n";
  });
}

std::string StatusTable(const nlohmann::json& answer) {
  const nlohmann::json& list = Member(answer, "maintenance");
  if (!list.is_array() || list.empty()) return "maintenance: off (no switch is on)\n";
  std::vector<Row> rows;
  for (const nlohmann::json& entry : list) {
    const nlohmann::json& until = Member(entry, "until");
    rows.push_back({Field(entry, "scope"), Field(entry, "target"),
                    FormatTimestamp(Member(entry, "since")),
                    until.is_null() ? "switched off" : FormatTimestamp(until),
                    Field(entry, "reason"), Field(entry, "set_by")});
  }
  return FormatTable({"SCOPE", "TARGET", "SINCE", "UNTIL", "REASON", "SET_BY"}, rows);
}

int RunStatus(const GlobalOptions& options) {
  const JsonAnswer answer =
      CallAgent(AgentClient(options.admin_socket), {.target = "/v1/maintenance"}, options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer, StatusTable);
}

// --service / --workspace, mutually exclusive; neither means global.
void AddScopeOptions(CLI::App& sub, MaintenanceArgs& args) {
  CLI::Option* service = sub.add_option("--service", args.service, "Only this service");
  CLI::Option* workspace = sub.add_option("--workspace", args.workspace, "Only this workspace");
  service->excludes(workspace);
}

}  // namespace

void RegisterMaintenanceCommands(CLI::App& app, const GlobalOptions& options,
                                 CommandAction& action) {
  CLI::App* maintenance = app.add_subcommand(
      "maintenance", "Switch access off (503 maintenance) globally, per service or per workspace");
  maintenance->require_subcommand(1);

  auto on_args = std::make_shared<MaintenanceArgs>();
  CLI::App* on = maintenance->add_subcommand("on", "Switch access off (everything by default)");
  AddScopeOptions(*on, *on_args);
  on->add_option("--reason", on_args->reason, "Shown to refused callers and audited");
  on->add_option("--for", on_args->for_text,
                 "Switch back on after this long: 90s, 15m, 2h, 1d, 1w, 1h30m (at most 366d)");
  on->callback([&options, &action, on_args] {
    action = [&options, on_args] { return RunOn(options, *on_args); };
  });

  auto off_args = std::make_shared<MaintenanceArgs>();
  CLI::App* off = maintenance->add_subcommand("off", "Clear a maintenance switch");
  AddScopeOptions(*off, *off_args);
  off->callback([&options, &action, off_args] {
    action = [&options, off_args] { return RunOff(options, *off_args); };
  });

  maintenance->add_subcommand("status", "List the maintenance switches that are on")
      ->callback([&options, &action] { action = [&options] { return RunStatus(options); }; });
}

}  // namespace dbproxy::cli
