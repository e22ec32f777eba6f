// grant, revoke, grants: runtime grants of a role to a service (admin socket).
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands/commands.hpp"
#include "cli/encoding.hpp"
#include "cli/output.hpp"
#include "common/store/credential_store_format.hpp"
#include "common/core/duration.hpp"
#include "common/runtime/runtime_api.hpp"

namespace dbproxy::cli {
namespace {

struct GrantArgs {
  std::string service;
  std::string role;
  std::string for_text;  // empty: no expiry
  std::string reason;
};

// Names are checked here too, so a typo is a usage error (exit 2) rather than an agent refusal.
bool CheckNames(const GrantArgs& args) {
  for (const std::string* name : {&args.service, &args.role}) {
    if (!IsValidName(*name)) {
      PrintError("invalid name '" + Sanitize(*name) + "': names match [A-Za-z0-9._-]{1,64}");
      return false;
    }
  }
  return true;
}

std::string ExpiryCell(const nlohmann::json& value) {
  return value.is_null() ? "never" : FormatTimestamp(value);
}

int RunGrant(const GlobalOptions& options, const GrantArgs& args) {
  if (!CheckNames(args)) return kExitUsage;
  GrantRequest grant{.service = args.service, .role = args.role, .reason = args.reason,
                     .for_seconds = 0};
  if (!ParseForOption(args.for_text, grant.for_seconds)) return kExitUsage;
  const JsonAnswer answer = PostJsonToAdmin("/v1/grants", GrantRequestToJson(grant), options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer, [&args](const nlohmann::json& reply) {
    const nlohmann::json& expires_at = Member(Member(reply, "grant"), "expires_at");
    return "granted role " + args.role + " to service " + args.service +
           (expires_at.is_null() ? " (no expiry)" : " until " + FormatTimestamp(expires_at)) +
           "\n";
  });
}

int RunRevoke(const GlobalOptions& options, const GrantArgs& args) {
  if (!CheckNames(args)) return kExitUsage;
  const std::string target =
      "/v1/grants/" + PercentEncode(args.service) + "/" + PercentEncode(args.role);
  const JsonAnswer answer = CallAgent(AgentClient(options.admin_socket),
                                      {.method = "DELETE", .target = target}, options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer, [&args](const nlohmann::json&) {
    return "revoked role " + args.role + " from service " + args.service + "\n";
  });
}

std::string GrantsTable(const nlohmann::json& answer) {
  std::vector<Row> rows;
  const nlohmann::json& list = Member(answer, "grants");
  if (list.is_array()) {
    for (const nlohmann::json& grant : list) {
      rows.push_back({Field(grant, "service"), Field(grant, "role"),
                      ExpiryCell(Member(grant, "expires_at")), Field(grant, "reason"),
                      Field(grant, "granted_by")});
    }
  }
  return FormatTable({"SERVICE", "ROLE", "EXPIRES", "REASON", "GRANTED_BY"}, rows);
}

int RunGrants(const GlobalOptions& options) {
  const JsonAnswer answer =
      CallAgent(AgentClient(options.admin_socket), {.target = "/v1/grants"}, options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer, GrantsTable);
}

}  // namespace

void RegisterGrantCommands(CLI::App& app, const GlobalOptions& options, CommandAction& action) {
  auto grant_args = std::make_shared<GrantArgs>();
  CLI::App* grant = app.add_subcommand(
      "grant", "Give a service a role of the policy at runtime, optionally for a while");
  grant->add_option("SERVICE", grant_args->service, "Service name (from the policy)")->required();
  grant->add_option("ROLE", grant_args->role, "Role name (from the policy)")->required();
  grant->add_option("--for", grant_args->for_text,
                    "Expire after this long: 90s, 15m, 2h, 1d, 1w, 1h30m (at most 366d)");
  grant->add_option("--reason", grant_args->reason, "Why (kept with the grant and audited)");
  grant->callback([&options, &action, grant_args] {
    action = [&options, grant_args] { return RunGrant(options, *grant_args); };
  });

  auto revoke_args = std::make_shared<GrantArgs>();
  CLI::App* revoke = app.add_subcommand("revoke", "Take back a runtime grant");
  revoke->add_option("SERVICE", revoke_args->service, "Service name")->required();
  revoke->add_option("ROLE", revoke_args->role, "Role name")->required();
  revoke->callback([&options, &action, revoke_args] {
    action = [&options, revoke_args] { return RunRevoke(options, *revoke_args); };
  });

  app.add_subcommand("grants", "List runtime grants that are in force")
      ->callback([&options, &action] { action = [&options] { return RunGrants(options); }; });
}

}  // namespace dbproxy::cli
