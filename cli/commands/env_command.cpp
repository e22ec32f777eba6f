// dbproxyctl env: the environment a service needs to use dbproxyd with an unmodified Databricks
// SDK, CLI or Terraform provider (docs/clients.md), for a unit's Environment= lines.
//
//   metadata mode  DATABRICKS_HOST=<workspace host>
//                  DATABRICKS_METADATA_SERVICE_URL=http://<loopback listen>/metadata/token
//                  DATABRICKS_AUTH_TYPE=metadata-service
//   --proxy        DATABRICKS_HOST=http://<loopback listen>, DATABRICKS_TOKEN=<placeholder>,
//                  DATABRICKS_AUTH_TYPE=pat (the agent drops the caller's token)
//
// Where the facts come from: the loopback address from agent.toml ([loopback] listen, the first
// IPv4 one: the SDKs accept only 127.0.0.1 or localhost in the metadata URL); the workspace
// from --workspace, else the service's default in the policy (policy_dir of agent.toml), else
// the only enrolled one; its host from the admin socket (GET /v1/workspaces).
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands/commands.hpp"
#include "cli/output.hpp"
#include "cli/policy_files.hpp"
#include "common/core/config.hpp"
#include "common/os/files.hpp"
#include "common/policy/policy.hpp"

namespace dbproxy::cli {
namespace {

// What the caller sends as its token in proxy mode: never used by the agent, never a secret.
constexpr char kProxyPlaceholderToken[] = "dbproxy-proxy-mode";

struct EnvArgs {
  std::string config = "/etc/dbproxy/agent.toml";
  std::string service;
  std::string workspace;
  bool proxy = false;
  std::string shell = "sh";
};

Result<AgentConfig> LoadConfig(const std::string& path) {
  Result<std::string> text = ReadFileText(path, 1 << 20);
  if (!text) {
    return MakeError(Errc::kNotFound, "cannot read " + path + " (give --config)");
  }
  return ParseAgentConfig(*text, path);
}

// The first loopback address an SDK accepts in its metadata URL (IPv4: they refuse [::1]).
Result<std::string> LoopbackAddress(const AgentConfig& config, const std::string& path) {
  for (const LoopbackEndpoint& endpoint : config.loopback.listen) {
    if (!endpoint.ipv6) return endpoint.HostPort();
  }
  if (!config.loopback.listen.empty()) {
    return MakeError(Errc::kInvalidRequest,
                     path + ": [loopback] listen has only IPv6 addresses; the SDKs accept only "
                            "127.0.0.1 (or localhost) in the metadata URL");
  }
  return MakeError(Errc::kInvalidRequest,
                   path + " has no [loopback] listen address (add, for example, listen = "
                          "\"127.0.0.1:8765\" and restart dbproxyd)");
}

// The service's default workspace, from the policy the agent reads.
Result<std::string> ServiceWorkspace(const AgentConfig& config, const std::string& service) {
  Result<std::vector<PolicySource>> files = ReadPolicyFiles(config.agent.policy_dir);
  if (!files) return std::move(files).error();
  Result<Policy> policy = ParsePolicy(*files);
  if (!policy) return std::move(policy).error();
  for (const Service& candidate : policy->services) {
    if (candidate.name != service) continue;
    if (candidate.workspace.empty()) {
      return MakeError(Errc::kInvalidRequest,
                       "service '" + service + "' has no default workspace: give --workspace");
    }
    return candidate.workspace;
  }
  return MakeError(Errc::kNotFound,
                   "no service '" + service + "' in the policy of " + config.agent.policy_dir);
}

// Quotes for sh only when needed (systemd's Environment= takes the same KEY=value).
std::string ShValue(const std::string& value) {
  const bool plain = value.find_first_not_of(
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                         "_-.:/[]@%+=,") == std::string::npos;
  if (plain && !value.empty()) return value;
  std::string out = "'";
  for (const char c : value) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int RunEnv(const GlobalOptions& options, const EnvArgs& args) {
  if (args.shell != "sh" && args.shell != "fish" && args.shell != "json") {
    PrintError("--shell must be sh, fish or json");
    return kExitUsage;
  }
  Result<AgentConfig> config = LoadConfig(args.config);
  if (!config) {
    PrintError(config.error().message);
    return kExitFailure;
  }
  Result<std::string> loopback = LoopbackAddress(*config, args.config);
  if (!loopback) {
    PrintError(loopback.error().message);
    return kExitFailure;
  }
  std::string workspace = args.workspace;
  if (workspace.empty() && !args.service.empty()) {
    Result<std::string> from_policy = ServiceWorkspace(*config, args.service);
    if (!from_policy) {
      PrintError(from_policy.error().message);
      return kExitFailure;
    }
    workspace = *from_policy;
  }
  std::vector<std::pair<std::string, std::string>> variables;
  if (args.proxy) {
    variables = {{"DATABRICKS_HOST", "http://" + *loopback},
                 {"DATABRICKS_TOKEN", kProxyPlaceholderToken},
                 {"DATABRICKS_AUTH_TYPE", "pat"}};
  } else {
    const JsonAnswer answer =
        CallAgent(AgentClient(options.admin_socket), {.target = "/v1/workspaces"}, options);
    if (answer.exit_code != kExitOk) return answer.exit_code;
    const nlohmann::json& list = answer.answer.value("workspaces", nlohmann::json::array());
    std::string host;
    std::vector<std::string> names;
    for (const nlohmann::json& entry : list) {
      const std::string name = entry.value("name", "");
      names.push_back(name);
      if (name == workspace || (workspace.empty() && list.size() == 1)) {
        host = entry.value("host", "");
        workspace = name;
      }
    }
    if (host.empty()) {
      PrintError(workspace.empty()
                     ? std::string("several workspaces are enrolled: give --workspace or --service")
                     : "workspace '" + workspace + "' is not enrolled (dbproxyctl workspaces)");
      return kExitFailure;
    }
    variables = {{"DATABRICKS_HOST", host},
                 {"DATABRICKS_METADATA_SERVICE_URL", "http://" + *loopback + "/metadata/token"},
                 {"DATABRICKS_AUTH_TYPE", "metadata-service"}};
  }
  std::string out;
  if (args.shell == "json") {
    nlohmann::json object = nlohmann::json::object();
    for (const auto& [key, value] : variables) object[key] = value;
    out = PrettyJson(object);
  } else {
    if (args.proxy) {
      out += "# proxy mode: calls go to the calling service's default workspace; the token is a "
             "placeholder the agent drops\n";
    }
    for (const auto& [key, value] : variables) {
      out += args.shell == "fish" ? "set -gx " + key + " " + ShValue(value) + "\n"
                                  : key + "=" + ShValue(value) + "\n";
    }
  }
  WriteOut(out);
  return kExitOk;
}

}  // namespace

void RegisterEnvCommand(CLI::App& app, const GlobalOptions& options, CommandAction& action) {
  auto args = std::make_shared<EnvArgs>();
  CLI::App* env = app.add_subcommand(
      "env", "Print the environment a service needs to use an unmodified Databricks SDK or CLI");
  env->add_option("--config", args->config, "dbproxyd's configuration file")
      ->envname("DBPROXY_CONFIG")
      ->capture_default_str();
  env->add_option("--service", args->service, "Use this service's default workspace");
  env->add_option("--workspace", args->workspace, "The enrolled workspace to use");
  env->add_flag("--proxy", args->proxy, "Proxy mode (plain-http host) instead of metadata mode");
  env->add_option("--shell", args->shell, "Output: sh (KEY=value, also for systemd), fish, json")
      ->capture_default_str();
  env->callback([&options, &action, args] {
    action = [&options, args] { return RunEnv(options, *args); };
  });
}

}  // namespace dbproxy::cli
