// enroll, workspaces, remove: workspace and credential administration over the admin socket.
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands/commands.hpp"
#include "cli/encoding.hpp"
#include "cli/output.hpp"
#include "cli/secret_input.hpp"
#include "common/core/secret_bytes.hpp"

namespace dbproxy::cli {
namespace {

struct EnrollArgs {
  std::string workspace;
  std::string host;
  std::string credential;
  std::string client_id;
  std::string secret_file;  // "-" is stdin; empty: stdin if not a terminal, else a prompt
  bool federated = false;   // no secret: workload identity federation
  std::string subject;      // federated only; empty: the agent's default
  std::string audience;     // federated only; empty: the agent's default
};

struct RemoveArgs {
  std::string workspace;
  std::string credential;  // empty: remove the whole workspace
};

// The secret never comes from argv: a file, a pipe on stdin, or a no-echo prompt.
Result<SecretBytes> ReadEnrollSecret(const EnrollArgs& args) {
  if (!args.secret_file.empty()) return ReadSecretFromFile(args.secret_file);
  if (::isatty(STDIN_FILENO) == 0) return ReadSecretFromFd(STDIN_FILENO);
  return ReadSecretFromTerminal("Client secret for " + args.credential + " (client id " +
                                args.client_id + "): ");
}

int RunEnroll(const GlobalOptions& options, const EnrollArgs& args) {
  if (!args.federated && (!args.subject.empty() || !args.audience.empty())) {
    PrintError("--subject and --audience need --federated");
    return kExitUsage;
  }
  if (args.federated && !args.secret_file.empty()) {
    PrintError("a federated credential has no secret: drop --secret-file");
    return kExitUsage;
  }
  Result<SecretBytes> secret =
      args.federated ? Result<SecretBytes>(SecretBytes()) : ReadEnrollSecret(args);
  if (!secret) {
    PrintError(secret.error().message);
    return kExitFailure;
  }
  std::string target = "/v1/workspaces/" + PercentEncode(args.workspace) + "/credentials/" +
                       PercentEncode(args.credential) + "?host=" + PercentEncode(args.host) +
                       "&client_id=" + PercentEncode(args.client_id);
  if (args.federated) {
    target += "&federated=1";
    if (!args.subject.empty()) target += "&subject=" + PercentEncode(args.subject);
    if (!args.audience.empty()) target += "&audience=" + PercentEncode(args.audience);
  }
  const AgentRequest request{
      .method = "PUT",
      .target = target,
      .body = secret->bytes(),
      .content_type = "application/octet-stream",
  };
  const JsonAnswer answer = CallAgent(AgentClient(options.admin_socket), request, options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer, [&args](const nlohmann::json& body) {
    std::string text = "enrolled credential " + args.credential + " for workspace " +
                       args.workspace + " (" + args.host + ")\n";
    if (args.federated) {
      text +=
          "federated: no secret stored; the agent signs JWTs with sub=" + Field(body, "subject") +
          " aud=" + Field(body, "audience") + "\n";
    }
    return text;
  });
}

std::string WorkspacesTable(const nlohmann::json& answer) {
  std::vector<Row> rows;
  const nlohmann::json& list = Member(answer, "workspaces");
  if (list.is_array()) {
    for (const nlohmann::json& workspace : list) {
      const nlohmann::json& credentials = Member(workspace, "credentials");
      if (!credentials.is_array() || credentials.empty()) {
        rows.push_back({Field(workspace, "name"), Field(workspace, "host"), "-", "-", "-", "-"});
        continue;
      }
      for (const nlohmann::json& credential : credentials) {
        const bool federated = Member(credential, "federated").is_boolean() &&
                               Member(credential, "federated").get<bool>();
        rows.push_back({Field(workspace, "name"), Field(workspace, "host"),
                        Field(credential, "name"), Field(credential, "client_id"),
                        federated ? "federated" : "secret",
                        FormatTimestamp(Member(credential, "enrolled_at"))});
      }
    }
  }
  return FormatTable({"WORKSPACE", "HOST", "CREDENTIAL", "CLIENT_ID", "KIND", "ENROLLED"}, rows);
}

int RunWorkspaces(const GlobalOptions& options) {
  const JsonAnswer answer =
      CallAgent(AgentClient(options.admin_socket), {.target = "/v1/workspaces"}, options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer, WorkspacesTable);
}

int RunRemove(const GlobalOptions& options, const RemoveArgs& args) {
  std::string target = "/v1/workspaces/" + PercentEncode(args.workspace);
  if (!args.credential.empty()) target += "/credentials/" + PercentEncode(args.credential);
  const JsonAnswer answer = CallAgent(AgentClient(options.admin_socket),
                                      {.method = "DELETE", .target = target}, options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer, [&args](const nlohmann::json&) {
    if (args.credential.empty()) return "removed workspace " + args.workspace + "\n";
    return "removed credential " + args.credential + " from workspace " + args.workspace + "\n";
  });
}

void AddEnroll(CLI::App& app, const GlobalOptions& options, CommandAction& action) {
  auto args = std::make_shared<EnrollArgs>();
  CLI::App* sub = app.add_subcommand(
      "enroll", "Store a service-principal credential for a workspace (validated upstream)");
  sub->add_option("WORKSPACE", args->workspace, "Workspace name")->required();
  sub->add_option("--host", args->host, "Workspace URL, e.g. https://adb-1.azuredatabricks.net")
      ->required();
  sub->add_option("--credential", args->credential, "Credential name")->required();
  sub->add_option("--client-id", args->client_id, "Service principal client id")->required();
  sub->add_option("--secret-file", args->secret_file,
                  "Read the client secret from this file ('-' = stdin); default: stdin when it "
                  "is not a terminal, else a prompt");
  sub->add_flag("--federated", args->federated,
                "No secret: the agent signs a JWT and exchanges it (Databricks workload identity "
                "federation; see 'dbproxyctl federation jwks')");
  sub->add_option("--subject", args->subject,
                  "With --federated: the JWT's sub (default dbproxy:<hostname>:<credential>)");
  sub->add_option("--audience", args->audience,
                  "With --federated: the JWT's aud (default: the workspace URL)");
  sub->callback([&options, &action, args] {
    action = [&options, args] { return RunEnroll(options, *args); };
  });
}

}  // namespace

void RegisterWorkspaceCommands(CLI::App& app, const GlobalOptions& options,
                               CommandAction& action) {
  AddEnroll(app, options, action);

  app.add_subcommand("workspaces", "List workspaces and their credentials")
      ->callback([&options, &action] { action = [&options] { return RunWorkspaces(options); }; });

  auto remove_args = std::make_shared<RemoveArgs>();
  CLI::App* remove = app.add_subcommand("remove", "Remove a workspace or one of its credentials");
  remove->add_option("WORKSPACE", remove_args->workspace, "Workspace name")->required();
  remove->add_option("--credential", remove_args->credential,
                     "Remove only this credential, not the whole workspace");
  remove->callback([&options, &action, remove_args] {
    action = [&options, remove_args] { return RunRemove(options, *remove_args); };
  });
}

}  // namespace dbproxy::cli
