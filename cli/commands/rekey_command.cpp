// rekey: rotate the master key of the agent's credential store (admin socket). The key itself
// never travels over the socket; dbproxyd writes it to its key_file.
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands/commands.hpp"
#include "cli/output.hpp"

namespace dbproxy::cli {
namespace {

std::string RekeyText(const nlohmann::json& answer) {
  return "master key rotated: " + Field(answer, "key_file") + " replaced, " +
         Field(answer, "credentials") + " credentials re-encrypted\n";
}

int RunRekey(const GlobalOptions& options) {
  const JsonAnswer answer = PostJsonToAdmin("/v1/rekey", nlohmann::json::object(), options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer, RekeyText);
}

}  // namespace

void RegisterRekeyCommands(CLI::App& app, const GlobalOptions& options, CommandAction& action) {
  app.add_subcommand("rekey",
                     "Rotate the credential store's master key (key_file only; see "
                     "docs/operations.md for a systemd credential)")
      ->callback([&options, &action] { action = [&options] { return RunRekey(options); }; });
}

}  // namespace dbproxy::cli
