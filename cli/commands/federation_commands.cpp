// federation status | jwks | rotate: the agent's own JWT signing keys, for Databricks workload
// identity federation (enroll --federated). Only public keys ever leave the agent.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands/commands.hpp"
#include "cli/output.hpp"

namespace dbproxy::cli {
namespace {

std::string FederationStatusText(const nlohmann::json& answer) {
  std::vector<Row> rows;
  const nlohmann::json& keys = Member(answer, "keys");
  if (keys.is_array()) {
    for (const nlohmann::json& key : keys) {
      rows.push_back({Field(key, "kid"), Field(key, "alg"),
                      FormatTimestamp(Member(key, "created_at")),
                      Member(key, "in_use") == true
                          ? std::string("in use")
                          : "retired " + FormatTimestamp(Member(key, "retired_at"))});
    }
  }
  return FormatKeyValues(
             {{"issuer", Field(answer, "issuer")},
              {"algorithm", Field(answer, "algorithm")},
              {"assertion_lifetime", Field(answer, "assertion_lifetime_seconds") + "s"}}) +
         (rows.empty()
              ? std::string("no signing key yet (created by 'federation jwks' or the first "
                            "federated enrolment)\n")
              : FormatTable({"KID", "ALG", "CREATED", "STATE"}, rows));
}

int RunFederationStatus(const GlobalOptions& options) {
  const JsonAnswer answer =
      CallAgent(AgentClient(options.admin_socket), {.target = "/v1/federation"}, options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer, FederationStatusText);
}

// The JWKS is printed as JSON either way: it is what goes into the policy's jwks_json.
int RunFederationJwks(const GlobalOptions& options) {
  const JsonAnswer answer =
      CallAgent(AgentClient(options.admin_socket), {.target = "/v1/federation/jwks"}, options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer,
                     [](const nlohmann::json& jwks) { return jwks.dump(2) + "\n"; });
}

int RunFederationRotate(const GlobalOptions& options) {
  const JsonAnswer answer =
      CallAgent(AgentClient(options.admin_socket),
                {.method = "POST", .target = "/v1/federation/rotate"}, options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer, [](const nlohmann::json& body) {
    return "new signing key " + Field(body, "kid") +
           "; put the output of 'dbproxyctl federation jwks' into each federation policy's "
           "jwks_json now: exchanges are signed with the new key from now on\n";
  });
}

}  // namespace

void RegisterFederationCommands(CLI::App& app, const GlobalOptions& options,
                                CommandAction& action) {
  CLI::App* federation = app.add_subcommand(
      "federation", "The agent's JWT signing keys for Databricks workload identity federation");
  federation->require_subcommand(1);
  federation->add_subcommand("status", "Issuer, algorithm and signing keys (no key material)")
      ->callback([&options, &action] { action = [&options] { return RunFederationStatus(options); }; });
  federation
      ->add_subcommand("jwks",
                       "Print the public JWKS for a federation policy's jwks_json (creates the "
                       "first key)")
      ->callback([&options, &action] { action = [&options] { return RunFederationJwks(options); }; });
  federation
      ->add_subcommand("rotate",
                       "Sign with a new key from now on; the previous one stays published "
                       "until what it signed has expired")
      ->callback([&options, &action] { action = [&options] { return RunFederationRotate(options); }; });
}

}  // namespace dbproxy::cli
