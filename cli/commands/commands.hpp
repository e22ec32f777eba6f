// Command groups of dbproxyctl. Each Register* adds its subcommands to `app`; when one of them
// is chosen on the command line its callback stores the work to do in `action`, which main()
// runs after parsing. `options` and `action` must outlive `app`.
//
// To add a group (grant/revoke, maintenance, audit, ...): write commands/<group>_commands.cpp
// with one Run* function per subcommand, declare its Register* here and call it from main.cpp.
#pragma once

#include "cli/command_support.hpp"

namespace CLI {
class App;
}  // namespace CLI

namespace dbproxy::cli {

// enroll, workspaces, remove (admin socket).
void RegisterWorkspaceCommands(CLI::App& app, const GlobalOptions& options,
                               CommandAction& action);

// tokens (admin socket), token (agent socket).
void RegisterTokenCommands(CLI::App& app, const GlobalOptions& options, CommandAction& action);

// status (admin socket), whoami (agent socket).
void RegisterStatusCommands(CLI::App& app, const GlobalOptions& options, CommandAction& action);

// rekey (admin socket).
void RegisterRekeyCommands(CLI::App& app, const GlobalOptions& options, CommandAction& action);

// grant, revoke, grants (admin socket).
void RegisterGrantCommands(CLI::App& app, const GlobalOptions& options, CommandAction& action);

// maintenance on | off | status (admin socket).
void RegisterMaintenanceCommands(CLI::App& app, const GlobalOptions& options,
                                 CommandAction& action);

// policy lint | keygen | sign | verify (local files only; no agent).
void RegisterPolicyCommands(CLI::App& app, const GlobalOptions& options, CommandAction& action);

// explain, reload (admin socket).
void RegisterExplainCommands(CLI::App& app, const GlobalOptions& options, CommandAction& action);

// audit tail (admin socket), audit verify (local files).
void RegisterAuditCommands(CLI::App& app, const GlobalOptions& options, CommandAction& action);

// idp list | test (admin socket).
void RegisterIdentityCommands(CLI::App& app, const GlobalOptions& options, CommandAction& action);
void RegisterFederationCommands(CLI::App& app, const GlobalOptions& options, CommandAction& action);

// env: the environment for unmodified SDKs (agent.toml, policy, admin socket).
void RegisterEnvCommand(CLI::App& app, const GlobalOptions& options, CommandAction& action);

}  // namespace dbproxy::cli
