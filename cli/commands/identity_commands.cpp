// idp list | test: the identity providers the agent verifies callers' tokens with (admin socket).
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands/commands.hpp"
#include "cli/output.hpp"
#include "cli/secret_input.hpp"
#include "common/core/secret_bytes.hpp"
#include "common/identity/jwt.hpp"

namespace dbproxy::cli {
namespace {

std::string IdpTable(const nlohmann::json& answer) {
  std::vector<Row> rows;
  const nlohmann::json& list = Member(answer, "idps");
  if (list.is_array()) {
    for (const nlohmann::json& idp : list) {
      const std::string uri = Field(idp, "jwks_uri");
      rows.push_back({Field(idp, "name"), Field(idp, "issuer"),
                      Member(idp, "discovery") == true ? uri + " (discovery)" : uri,
                      Field(idp, "keys"),
                      Member(idp, "last_fetch") == 0 ? std::string("never")
                                                     : FormatTimestamp(Member(idp, "last_fetch")),
                      Field(idp, "last_error")});
    }
  }
  return FormatTable({"NAME", "ISSUER", "JWKS", "KEYS", "FETCHED", "LAST_ERROR"}, rows);
}

int RunIdpList(const GlobalOptions& options) {
  const JsonAnswer answer =
      CallAgent(AgentClient(options.admin_socket), {.target = "/v1/idps"}, options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer, IdpTable);
}

std::string VerdictLines(const nlohmann::json& answer) {
  if (Member(answer, "verified") != true) {
    return FormatKeyValues(
        {{"verified", "no"}, {"idp", Field(answer, "idp")}, {"reason", Field(answer, "reason")}});
  }
  return FormatKeyValues({{"verified", "yes"},
                          {"idp", Field(answer, "idp")},
                          {"iss", Field(answer, "iss")},
                          {"sub", Field(answer, "sub")},
                          {"aud", Field(answer, "aud")},
                          {"expires_at", FormatTimestamp(Member(answer, "expires_at"))},
                          {"attributes", Field(answer, "attributes")},
                          {"claims", Field(answer, "claims")}});
}

// The token from argv or, for "-", standard input (which keeps it out of ps and shell history).
int RunIdpTest(const GlobalOptions& options, std::string& token_arg) {
  std::string token;
  if (token_arg == "-") {
    Result<SecretBytes> read = ReadSecretFromFd(STDIN_FILENO, kMaxJwtBytes, true);
    if (!read) {
      PrintError(read.error().message);
      return kExitFailure;
    }
    token.assign(reinterpret_cast<const char*>(read->bytes().data()), read->bytes().size());
  } else {
    token = token_arg;
  }
  WipeString(token_arg);
  nlohmann::json request_json = {{"token", token}};
  std::string body = request_json.dump();
  WipeJsonStrings(request_json);
  WipeString(token);
  const AgentRequest request{
      .method = "POST",
      .target = "/v1/idps/verify",
      .body = {reinterpret_cast<const unsigned char*>(body.data()), body.size()},
      .content_type = "application/json",
  };
  const JsonAnswer answer = CallAgent(AgentClient(options.admin_socket), request, options);
  WipeString(body);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  const int printed = PrintAnswer(options, answer.answer, VerdictLines);
  if (printed != kExitOk) return printed;
  return Member(answer.answer, "verified") == true ? kExitOk : kExitFailure;
}

}  // namespace

void RegisterIdentityCommands(CLI::App& app, const GlobalOptions& options, CommandAction& action) {
  CLI::App* idp = app.add_subcommand("idp", "Identity providers of callers' tokens ([[idp]])");
  idp->require_subcommand(1);
  idp->add_subcommand("list", "List the identity providers and their cached keys")
      ->callback([&options, &action] { action = [&options] { return RunIdpList(options); }; });
  auto token = std::make_shared<std::string>();
  CLI::App* test = idp->add_subcommand(
      "test", "Verify a token against the cached keys and print its claims or why it is refused");
  test->add_option("TOKEN", *token, "The JWT, or '-' to read it from standard input")->required();
  test->callback([&options, &action, token] {
    action = [&options, token] { return RunIdpTest(options, *token); };
  });
}

}  // namespace dbproxy::cli
