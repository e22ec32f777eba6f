// policy lint | keygen | sign | verify: local work on policy directories and signing keys. These
// commands read and write files only; they never contact the agent.
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.hpp"
#include "cli/output.hpp"
#include "cli/policy_files.hpp"
#include "common/os/files.hpp"
#include "common/policy/policy_bundle.hpp"
#include "common/policy/policy_lint.hpp"

namespace dbproxy::cli {
namespace {

constexpr char kDefaultPolicyDir[] = "/etc/dbproxy/policy.d";
constexpr std::size_t kMaxKeyFile = 256;
constexpr std::size_t kMaxSignatureFile = 64 << 10;

struct PolicyArgs {
  std::string directory = kDefaultPolicyDir;
  std::string key_file;                   // keygen --out, sign --key
  std::vector<std::string> trusted_keys;  // verify --trusted-key
};

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

int PrintLint(const GlobalOptions& options, const std::vector<std::string>& errors,
              const std::vector<LintFinding>& findings) {
  bool failed = !errors.empty();
  nlohmann::json json_findings = nlohmann::json::array();
  std::string human;
  for (const std::string& error : errors) human += Sanitize(error) + "\n";
  for (const LintFinding& f : findings) {
    failed = failed || f.severity == "error";
    json_findings.push_back(
        {{"severity", f.severity}, {"source", f.source}, {"code", f.code}, {"message", f.message}});
    human += Sanitize(f.source + ": " + f.severity + ": " + f.code + ": " + f.message) + "\n";
  }
  if (options.json) {
    WriteOut(PrettyJson({{"errors", errors}, {"findings", json_findings}}));
  } else {
    WriteOut(human);
  }
  return failed ? kExitFailure : kExitOk;
}

int RunLint(const GlobalOptions& options, const PolicyArgs& args) {
  Result<std::vector<PolicySource>> files = ReadPolicyFiles(args.directory);
  if (!files) {
    PrintError(files.error().message);
    return kExitFailure;
  }
  Result<Policy> policy = ParsePolicy(*files);
  if (!policy) return PrintLint(options, SplitLines(policy.error().message), {});
  return PrintLint(options, {}, LintPolicy(*policy));
}

int RunKeygen(const PolicyArgs& args) {
  Result<std::pair<std::string, SecretBytes>> key = GenerateSigningKey();
  if (!key) {
    PrintError(key.error().message);
    return kExitFailure;
  }
  if (Status written = WriteNewFile(args.key_file, key->second.view(), 0600); !written) {
    PrintError(written.error().message);
    return kExitFailure;
  }
  WriteOut(key->first + "\n");
  return kExitOk;
}

// The directory's files under their base names, or nullptr after reporting why not.
std::unique_ptr<std::vector<PolicySource>> ReadBundle(const std::string& directory) {
  Result<std::vector<PolicySource>> files = ReadPolicyFiles(directory);
  if (!files) {
    PrintError(files.error().message);
    return nullptr;
  }
  return std::make_unique<std::vector<PolicySource>>(WithBaseNames(std::move(*files)));
}

int RunSign(const PolicyArgs& args) {
  Result<SecretBytes> key_file = ReadFileSecret(args.key_file, kMaxKeyFile);
  Result<SecretBytes> key = key_file ? ParseSigningKey(key_file->view()) : key_file.error();
  if (!key) {
    PrintError(args.key_file + ": " + key.error().message);
    return kExitFailure;
  }
  Result<std::vector<PolicySource>> files = ReadPolicyFiles(args.directory);
  if (!files) {
    PrintError(files.error().message);
    return kExitFailure;
  }
  if (files->empty()) {
    PrintError("refusing to sign " + args.directory + ": it has no *.toml files");
    return kExitFailure;
  }
  // A host would refuse this policy anyway; signing it would only ship the mistake.
  if (Result<Policy> policy = ParsePolicy(*files); !policy) {
    PrintError("refusing to sign a policy with errors:\n" + policy.error().message);
    return kExitFailure;
  }
  Result<std::string> signature = SignBundle(WithBaseNames(std::move(*files)), *key);
  const std::string path = args.directory + "/" + std::string(kPolicySignatureFile);
  Status written = signature ? AtomicWriteFile(path, *signature, 0644) : Status(signature.error());
  if (!written) {
    PrintError(written.error().message);
    return kExitFailure;
  }
  WriteOut("signed " + path + " with key " + PublicKeyOf(*key).value() + "\n");
  return kExitOk;
}

int RunVerify(const PolicyArgs& args) {
  const std::unique_ptr<std::vector<PolicySource>> files = ReadBundle(args.directory);
  if (!files) return kExitFailure;
  const std::string path = args.directory + "/" + std::string(kPolicySignatureFile);
  Result<std::string> signature = ReadFileText(path, kMaxSignatureFile);
  Status verified = signature ? VerifyBundle(*files, *signature, args.trusted_keys)
                              : Status(signature.error());
  if (!verified) {
    PrintError(path + ": " + verified.error().message);
    return kExitFailure;
  }
  WriteOut("policy bundle verified (" + std::to_string(files->size()) + " files, key " +
           ParseSignatureFile(*signature)->public_key + ")\n");
  return kExitOk;
}

CLI::App* AddDirectory(CLI::App* command, PolicyArgs& args) {
  command->add_option("DIR", args.directory, "Policy directory")->capture_default_str();
  return command;
}

}  // namespace

void RegisterPolicyCommands(CLI::App& app, const GlobalOptions& options, CommandAction& action) {
  CLI::App* policy = app.add_subcommand("policy", "Lint, sign and verify policy directories");
  policy->require_subcommand(1);
  auto args = std::make_shared<PolicyArgs>();

  AddDirectory(policy->add_subcommand("lint", "Find mistakes in a policy directory"), *args)
      ->callback([&options, &action, args] {
        action = [&options, args] { return RunLint(options, *args); };
      });

  CLI::App* keygen = policy->add_subcommand("keygen", "Create a policy signing key pair");
  keygen->add_option("--out", args->key_file, "Secret key file to create (mode 0600)")
      ->required();
  keygen->callback([&action, args] { action = [args] { return RunKeygen(*args); }; });

  CLI::App* sign = AddDirectory(
      policy->add_subcommand("sign", "Sign a policy directory (writes DIR/policy.sig)"), *args);
  sign->add_option("--key", args->key_file, "Secret key file from 'policy keygen'")->required();
  sign->callback([&action, args] { action = [args] { return RunSign(*args); }; });

  CLI::App* verify = AddDirectory(
      policy->add_subcommand("verify", "Check DIR/policy.sig against trusted keys"), *args);
  verify->add_option("--trusted-key", args->trusted_keys, "ed25519:<base64> (repeatable)")
      ->required()
      ->allow_extra_args(false);  // one key per flag, so DIR is not taken for a key
  verify->callback([&action, args] { action = [args] { return RunVerify(*args); }; });
}

}  // namespace dbproxy::cli
