// tokens (cached-token metadata, admin socket) and token (fetch one for this caller, agent
// socket).
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands/commands.hpp"
#include "cli/output.hpp"
#include "common/core/secret_bytes.hpp"

namespace dbproxy::cli {
namespace {

struct TokenArgs {
  std::string workspace;  // empty: the service's default workspace
  std::string scope;      // empty: the agent's default scope
  int min_ttl_seconds = -1;  // negative: not sent
};

std::string TokensTable(const nlohmann::json& answer) {
  std::vector<Row> rows;
  const nlohmann::json& list = Member(answer, "tokens");
  if (list.is_array()) {
    for (const nlohmann::json& token : list) {
      const nlohmann::json& expires_in = Member(token, "expires_in");
      rows.push_back({Field(token, "workspace"), Field(token, "credential"), Field(token, "scope"),
                      expires_in.is_number() ? FormatDuration(expires_in.get<std::int64_t>())
                                             : JsonCell(expires_in),
                      Field(token, "hits")});
    }
  }
  return FormatTable({"WORKSPACE", "CREDENTIAL", "SCOPE", "EXPIRES_IN", "HITS"}, rows);
}

int RunTokens(const GlobalOptions& options) {
  const JsonAnswer answer =
      CallAgent(AgentClient(options.admin_socket), {.target = "/v1/tokens"}, options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer, TokensTable);
}

std::string TokenRequestBody(const TokenArgs& args) {
  nlohmann::json body = nlohmann::json::object();
  if (!args.workspace.empty()) body["workspace"] = args.workspace;
  if (!args.scope.empty()) body["scope"] = args.scope;
  if (args.min_ttl_seconds >= 0) body["min_ttl_seconds"] = args.min_ttl_seconds;
  return body.dump();
}

// Prints the token alone (for TOKEN=$(dbproxyctl token)) or, with --json, the whole answer; the
// printed text is wiped afterwards.
int PrintToken(const GlobalOptions& options, const nlohmann::json& answer) {
  if (options.json) {
    std::string text = PrettyJson(answer);
    WriteOut(text);
    WipeString(text);
    return kExitOk;
  }
  const nlohmann::json& token = Member(answer, "access_token");
  if (!token.is_string() || token.get_ref<const std::string&>().empty()) {
    PrintError("unexpected answer from dbproxyd (no access_token)");
    return kExitFailure;
  }
  WriteOut(token.get_ref<const std::string&>());
  WriteOut("\n");
  return kExitOk;
}

int RunToken(const GlobalOptions& options, const TokenArgs& args) {
  const std::string body = TokenRequestBody(args);
  const AgentRequest request{
      .method = "POST",
      .target = "/v1/token",
      .body = {reinterpret_cast<const unsigned char*>(body.data()), body.size()},
      .content_type = "application/json",
  };
  JsonAnswer answer =
      CallAgent(AgentClient(options.socket), request, options, /*sensitive=*/true);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  const int exit_code = PrintToken(options, answer.answer);
  WipeJsonStrings(answer.answer);
  return exit_code;
}

}  // namespace

void RegisterTokenCommands(CLI::App& app, const GlobalOptions& options, CommandAction& action) {
  app.add_subcommand("tokens", "List cached tokens (metadata only, never values)")
      ->callback([&options, &action] { action = [&options] { return RunTokens(options); }; });

  auto args = std::make_shared<TokenArgs>();
  CLI::App* token = app.add_subcommand(
      "token", "Get an access token for the calling process; prints only the token");
  token->add_option("--workspace", args->workspace, "Workspace (default: the service's own)");
  token->add_option("--scope", args->scope, "OAuth scope, e.g. all-apis or sql");
  token->add_option("--min-ttl", args->min_ttl_seconds,
                    "Refuse a token with fewer seconds of validity left")
      ->check(CLI::NonNegativeNumber);
  token->callback([&options, &action, args] {
    action = [&options, args] { return RunToken(options, *args); };
  });
}

}  // namespace dbproxy::cli
