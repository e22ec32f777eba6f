// dbproxyctl: the operator CLI for dbproxyd. Parses the command line, then runs the one chosen
// command; every failure path ends in an exit code (see ExitCode).
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <curl/curl.h>

#include "cli/command_support.hpp"
#include "cli/commands/commands.hpp"

namespace {

using dbproxy::cli::CommandAction;
using dbproxy::cli::GlobalOptions;

// The process briefly holds a client secret or a token: keep it out of core dumps and away from
// same-user ptrace.
bool HardenProcess() {
  const rlimit no_core{.rlim_cur = 0, .rlim_max = 0};
  return ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 && ::setrlimit(RLIMIT_CORE, &no_core) == 0 &&
         sodium_init() >= 0;
}

// A secret typed as an argument is already in ps output and shell history; say so without
// echoing it (CLI11's own message would repeat the value).
bool HasSecretArgument(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (arg == "--") return false;
    if (arg == "--secret" || arg.starts_with("--secret=")) return true;
  }
  return false;
}

void AddGlobalOptions(CLI::App& app, GlobalOptions& options) {
  app.add_option("--socket", options.socket, "Agent (client API) socket")
      ->envname("DBPROXY_SOCKET")
      ->capture_default_str();
  app.add_option("--admin-socket", options.admin_socket, "Admin API socket")
      ->envname("DBPROXY_ADMIN_SOCKET")
      ->capture_default_str();
  app.add_flag("--json", options.json, "Print the agent's JSON answer instead of a table");
  app.set_version_flag("--version", "dbproxyctl " DBPROXY_VERSION);
}

class CurlGlobal {
 public:
  CurlGlobal() : ok_(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {}
  ~CurlGlobal() {
    if (ok_) curl_global_cleanup();
  }
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_;
};

}  // namespace

int main(int argc, char** argv) {
  using dbproxy::cli::PrintError;
  if (!HardenProcess()) {
    PrintError("cannot initialise (prctl, setrlimit or libsodium failed)");
    return dbproxy::cli::kExitFailure;
  }
  if (HasSecretArgument(argc, argv)) {
    PrintError("there is no --secret option: pass the client secret with --secret-file FILE, "
               "on stdin, or at the prompt");
    return dbproxy::cli::kExitUsage;
  }
  GlobalOptions options;
  CommandAction action;
  CLI::App app{"dbproxyctl: operator CLI for the dbproxy credential agent"};
  app.fallthrough();  // global options may follow the subcommand; set before adding subcommands
  app.require_subcommand(1);
  AddGlobalOptions(app, options);
  dbproxy::cli::RegisterWorkspaceCommands(app, options, action);
  dbproxy::cli::RegisterTokenCommands(app, options, action);
  dbproxy::cli::RegisterStatusCommands(app, options, action);
  dbproxy::cli::RegisterRekeyCommands(app, options, action);
  dbproxy::cli::RegisterGrantCommands(app, options, action);
  dbproxy::cli::RegisterMaintenanceCommands(app, options, action);
  dbproxy::cli::RegisterPolicyCommands(app, options, action);
  dbproxy::cli::RegisterExplainCommands(app, options, action);
  dbproxy::cli::RegisterAuditCommands(app, options, action);
  dbproxy::cli::RegisterIdentityCommands(app, options, action);
  dbproxy::cli::RegisterFederationCommands(app, options, action);
  dbproxy::cli::RegisterEnvCommand(app, options, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? dbproxy::cli::kExitOk : dbproxy::cli::kExitUsage;
  }
  const CurlGlobal curl_global;
  if (!curl_global.ok() || !action) {
    PrintError("cannot initialise libcurl");
    return dbproxy::cli::kExitFailure;
  }
  try {
    return action();
  } catch (const std::exception& e) {
    PrintError(std::string("internal error: ") + e.what());
    return dbproxy::cli::kExitFailure;
  }
}
