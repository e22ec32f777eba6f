// explain (dry-run a policy decision with its trace) and reload (re-read the policy), admin socket.
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands/commands.hpp"
#include "cli/output.hpp"

namespace dbproxy::cli {
namespace {

struct ExplainOptions {
  std::optional<std::int64_t> uid;
  std::optional<std::int64_t> gid;
  std::string unit;
  std::string exe;
  std::string service;
  std::string workspace;
  // Request facts, as a proxied call's body would carry them (unset: absent).
  std::optional<std::int64_t> row_limit;
  std::optional<std::int64_t> byte_limit;
  std::optional<std::int64_t> statement_bytes;
  std::optional<std::int64_t> num_workers;
  std::optional<std::string> warehouse;
  std::optional<std::string> disposition;
  std::optional<std::string> job_id;
  std::optional<std::string> node_type;
  std::optional<std::string> driver_node_type;
  std::optional<std::string> secret_scope;
  std::optional<std::string> secret_key;
  std::optional<std::string> target_path;
  // A verified identity token the caller would present: its idp and "key=value" claims.
  std::string jwt_idp;
  std::vector<std::string> jwt_claims;
  // A verified SAML assertion the caller would present: its saml_idp and "name=value"
  // attributes.
  std::string saml_idp;
  std::vector<std::string> saml_attributes;
  std::string what;  // an action ("jobs.run") or "METHOD PATH"
};

// "key=value" pairs -> {"key": "value"}; a key given more than once becomes a list.
nlohmann::json ClaimsObject(const std::vector<std::string>& pairs) {
  nlohmann::json claims = nlohmann::json::object();
  for (const std::string& pair : pairs) {
    const std::size_t equals = pair.find('=');  // checked by the option's validator
    const std::string key = pair.substr(0, equals);
    const std::string value = pair.substr(equals + 1);
    if (!claims.contains(key)) {
      claims[key] = value;
    } else {
      if (!claims[key].is_array()) claims[key] = nlohmann::json::array({claims[key]});
      claims[key].push_back(value);
    }
  }
  return claims;
}

// "GET /api/2.1/jobs/list" -> method + path; anything else is an action.
nlohmann::json ExplainBody(const ExplainOptions& o) {
  nlohmann::json body = nlohmann::json::object();
  if (o.uid) body["uid"] = *o.uid;
  if (o.gid) body["gid"] = *o.gid;
  if (!o.unit.empty()) body["unit"] = o.unit;
  if (!o.exe.empty()) body["exe"] = o.exe;
  if (!o.service.empty()) body["service"] = o.service;
  if (!o.workspace.empty()) body["workspace"] = o.workspace;
  const auto add = [&body](const char* key, const auto& value) {
    if (value) body[key] = *value;
  };
  add("row_limit", o.row_limit);
  add("byte_limit", o.byte_limit);
  add("statement_bytes", o.statement_bytes);
  add("num_workers", o.num_workers);
  add("warehouse", o.warehouse);
  add("disposition", o.disposition);
  add("job_id", o.job_id);
  add("node_type", o.node_type);
  add("driver_node_type", o.driver_node_type);
  add("secret_scope", o.secret_scope);
  add("secret_key", o.secret_key);
  add("target_path", o.target_path);
  if (!o.jwt_idp.empty()) {
    body["jwt"] = {{"idp", o.jwt_idp}, {"claims", ClaimsObject(o.jwt_claims)}};
  }
  if (!o.saml_idp.empty()) {
    body["saml"] = {{"idp", o.saml_idp}, {"attributes", ClaimsObject(o.saml_attributes)}};
  }
  const std::size_t space = o.what.find(' ');
  if (space != std::string::npos && o.what.find('/', space) == space + 1) {
    body["method"] = o.what.substr(0, space);
    body["path"] = o.what.substr(space + 1);
  } else {
    body["action"] = o.what;
  }
  return body;
}

std::string ExplainText(const nlohmann::json& answer) {
  const nlohmann::json& decision = Member(answer, "decision");
  std::string text = FormatKeyValues({
      {"decision", Sanitize(Field(decision, "effect"))},
      {"rule", Field(decision, "rule")},
      {"reason", Field(decision, "reason")},
      {"service", Member(answer, "service").is_null() ? "(none)" : Field(answer, "service")},
      {"matched_by", Field(answer, "matched_by")},
      {"action", Field(answer, "action")},
      {"workspace", Field(answer, "workspace")},
      {"credential", Field(answer, "credential")},
      {"policy", Field(answer, "policy_revision")},
  });
  const nlohmann::json& trace = Member(answer, "trace");
  if (trace.is_array() && !trace.empty()) {
    std::vector<Row> rows;
    for (const nlohmann::json& step : trace) {
      rows.push_back({Field(step, "step"), Field(step, "outcome")});
    }
    text += "\n" + FormatTable({"CONSIDERED", "OUTCOME"}, rows);
  }
  return text;
}

int RunExplain(const GlobalOptions& options, const ExplainOptions& explain) {
  const JsonAnswer answer = PostJsonToAdmin("/v1/explain", ExplainBody(explain), options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  PrintAnswer(options, answer.answer, ExplainText);
  // Scripts can test the verdict: 0 allow, 1 deny.
  return Field(Member(answer.answer, "decision"), "effect") == "allow" ? kExitOk : kExitFailure;
}

std::string ReloadText(const nlohmann::json& answer) {
  return "policy reloaded: revision " + Field(answer, "revision") + ", " +
         Field(answer, "services") + " services, " + Field(answer, "roles") + " roles, " +
         Field(answer, "rules") + " rules\n";
}

int RunReload(const GlobalOptions& options) {
  const JsonAnswer answer = PostJsonToAdmin("/v1/reload", nlohmann::json::object(), options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  return PrintAnswer(options, answer.answer, ReloadText);
}

}  // namespace

void RegisterExplainCommands(CLI::App& app, const GlobalOptions& options, CommandAction& action) {
  static ExplainOptions explain;
  CLI::App* command = app.add_subcommand(
      "explain", "Dry-run a decision with its trace: ACTION (jobs.run, token:sql) or \"METHOD PATH\"");
  command->add_option("--uid", explain.uid, "caller uid");
  command->add_option("--gid", explain.gid, "caller gid");
  command->add_option("--unit", explain.unit, "caller systemd unit");
  command->add_option("--exe", explain.exe, "caller executable");
  command->add_option("--service", explain.service, "explain for this service directly");
  command->add_option("--workspace", explain.workspace, "workspace (default: the service's)");
  command->add_option("--warehouse", explain.warehouse, "request warehouse_id (SQL)");
  command->add_option("--row-limit", explain.row_limit, "request row_limit (SQL)");
  command->add_option("--byte-limit", explain.byte_limit, "request byte_limit (SQL)");
  command->add_option("--statement-bytes", explain.statement_bytes,
                      "size of the statement in bytes (SQL)");
  command->add_option("--disposition", explain.disposition,
                      "request disposition: INLINE, EXTERNAL_LINKS (SQL)");
  command->add_option("--job-id", explain.job_id, "request job_id (jobs)");
  command->add_option("--node-type", explain.node_type, "request node_type_id (clusters)");
  command->add_option("--driver-node-type", explain.driver_node_type,
                      "request driver_node_type_id (clusters)");
  command->add_option("--num-workers", explain.num_workers,
                      "request num_workers or autoscale max_workers (clusters)");
  command->add_option("--secret-scope", explain.secret_scope, "request secret scope (secrets)");
  command->add_option("--secret-key", explain.secret_key, "request secret key (secrets)");
  command->add_option("--target-path", explain.target_path,
                      "request path (workspace, DBFS, Files; also read from \"METHOD PATH?QUERY\")");
  const auto key_value = [](const std::string& pair) -> std::string {
    const std::size_t equals = pair.find('=');
    return equals == std::string::npos || equals == 0 ? "expected KEY=VALUE" : "";
  };
  CLI::Option* idp = command->add_option(
      "--jwt-idp", explain.jwt_idp, "the caller presents a token verified by this [[idp]]");
  command
      ->add_option("--jwt-claim", explain.jwt_claims,
                   "a claim of that token, KEY=VALUE (repeat; a repeated KEY is a list)")
      ->needs(idp)
      ->allow_extra_args(false)  // one claim per flag, so the ACTION is not taken for one
      ->check(key_value);
  CLI::Option* saml_idp = command->add_option(
      "--saml-idp", explain.saml_idp,
      "the caller presents a SAML assertion verified by this [[saml_idp]]");
  command
      ->add_option("--saml-attribute", explain.saml_attributes,
                   "an attribute of that assertion, NAME=VALUE (repeat; a repeated NAME is a "
                   "list; issuer and name_id too)")
      ->needs(saml_idp)
      ->allow_extra_args(false)
      ->check(key_value);
  command->add_option("what", explain.what, "ACTION or \"METHOD PATH[?QUERY]\"")->required();
  command->callback([&options, &action] {
    action = [&options] { return RunExplain(options, explain); };
  });
  app.add_subcommand("reload", "Re-read the policy now (it is also reloaded on change and SIGHUP)")
      ->callback([&options, &action] { action = [&options] { return RunReload(options); }; });
}

}  // namespace dbproxy::cli
