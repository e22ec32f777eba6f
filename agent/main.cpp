// dbproxyd: the per-host Databricks credential agent.
#include <malloc.h>

#include <cstdio>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "agent/agent.hpp"
#include "common/os/files.hpp"
#include "agent/hardening.hpp"
#include "agent/identity/saml_idp_files.hpp"
#include "agent/log.hpp"
#include "agent/state/policy_loader.hpp"
#include "agent/token/upstream_http.hpp"
#include "agent/wiping_heap.hpp"
#include "common/core/config.hpp"
#include "common/policy/policy_lint.hpp"

namespace {

dbproxy::Result<dbproxy::AgentConfig> LoadConfig(const std::string& path) {
  dbproxy::Result<std::string> text = dbproxy::ReadFileText(path, 1 << 20);
  if (!text) {
    if (text.error().code == dbproxy::Errc::kNotFound) return dbproxy::AgentConfig{};
    return std::move(text).error();
  }
  return dbproxy::ParseAgentConfig(*text, path);
}

int CheckConfig(const std::string& path) {
  dbproxy::Result<dbproxy::AgentConfig> config = LoadConfig(path);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 1;
  }
  // The [[saml_idp]] certificate files, read as the agent reads them at start-up.
  if (auto saml = dbproxy::LoadSamlProviders(config->saml_idps); !saml) {
    std::fprintf(stderr, "%s\n", saml.error().message.c_str());
    return 1;
  }
  auto policy =
      dbproxy::LoadPolicyDirectory(config->agent.policy_dir, config->policy.trusted_keys);
  if (!policy) {
    std::fprintf(stderr, "%s\n", policy.error().message.c_str());
    return 1;
  }
  // The same findings as `dbproxyctl policy lint`: errors fail the check, warnings do not.
  bool failed = false;
  std::vector<dbproxy::LintFinding> findings = dbproxy::LintPolicy(**policy);
  for (dbproxy::LintFinding& finding : dbproxy::LintAgainstConfig(**policy, *config)) {
    findings.push_back(std::move(finding));
  }
  for (const dbproxy::LintFinding& finding : findings) {
    failed = failed || finding.severity == "error";
    std::fprintf(stderr, "%s: %s: %s: %s\n", finding.source.c_str(), finding.severity.c_str(),
                 finding.code.c_str(), finding.message.c_str());
  }
  if (failed) return 1;
  std::printf("%s: ok (%zu services, %zu roles, %zu rules in %s, revision %s)\n", path.c_str(),
              (*policy)->services.size(), (*policy)->roles.size(), (*policy)->rules.size(),
              config->agent.policy_dir.c_str(), (*policy)->revision.c_str());
  return 0;
}

int RunAgent(const std::string& path) {
  if (dbproxy::Status hardened = dbproxy::HardenProcess(); !hardened) {
    dbproxy::Log(dbproxy::LogLevel::kError, hardened.error().message);
    return 1;
  }
  dbproxy::InitUpstreamHttp();
  dbproxy::Result<dbproxy::AgentConfig> config = LoadConfig(path);
  if (!config) {
    dbproxy::Log(dbproxy::LogLevel::kError, config.error().message);
    return 1;
  }
  auto agent = dbproxy::Agent::Create(std::move(*config));
  if (!agent) {
    dbproxy::Log(dbproxy::LogLevel::kError, "cannot start: " + agent.error().message);
    return 1;
  }
  return (*agent)->Run();
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything can use OpenSSL: its buffers are wiped when freed (agent/wiping_heap.hpp).
  const bool wiping_openssl = dbproxy::UseWipingHeapForOpenSsl();
  // Likewise libxml2, which holds a SAML assertion while it is checked.
  const bool wiping_libxml2 = dbproxy::UseWipingHeapForLibxml2();
  // Freed memory is wiped (agent/wiping_heap.hpp): a heap whose top glibc keeps trimming and
  // growing again (and large blocks mapped and unmapped per call, e.g. libcurl's transfer
  // buffers) would make every wipe fault fresh pages in first. Keep them in the heap.
  ::mallopt(M_MMAP_THRESHOLD, 4 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 64 << 20);
  CLI::App app{"dbproxyd: per-host Databricks credential agent"};
  std::string config_path = "/etc/dbproxy/agent.toml";
  app.add_option("--config", config_path, "agent configuration file");
  app.set_version_flag("--version", std::string("dbproxyd ") + DBPROXY_VERSION);
  CLI::App* check = app.add_subcommand("check-config", "validate the configuration and policy");
  check->add_option("--config", config_path, "agent configuration file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  try {
    if (!wiping_openssl && !check->parsed()) {
      dbproxy::Log(dbproxy::LogLevel::kWarning,
                   "OpenSSL was in use before start-up: its freed buffers are not wiped");
    }
    if (!wiping_libxml2 && !check->parsed()) {
      dbproxy::Log(dbproxy::LogLevel::kWarning,
                   "libxml2 refused the wiping heap: its freed buffers are not wiped");
    }
    return check->parsed() ? CheckConfig(config_path) : RunAgent(config_path);
  } catch (const std::exception& error) {
    dbproxy::Log(dbproxy::LogLevel::kError, std::string("fatal: ") + error.what());
    return 70;
  }
}
