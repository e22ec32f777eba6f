// audit tail (admin socket), audit verify (local files: needs read access to the audit file).
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands/commands.hpp"
#include "cli/encoding.hpp"
#include "cli/output.hpp"
#include "common/audit/audit_chain.hpp"
#include "common/core/config.hpp"

namespace dbproxy::cli {
namespace {

constexpr int kFollowWaitSeconds = 20;

struct TailArgs {
  int n = 20;
  bool follow = false;
  std::string service;
  std::string decision;
  std::string action;
};

struct VerifyArgs {
  std::vector<std::string> files;
  std::string config = "/etc/dbproxy/agent.toml";
};

std::string TailTarget(const TailArgs& args, const nlohmann::json& after_seq) {
  std::string target = "/v1/audit?n=" + std::to_string(args.n);
  if (!args.service.empty()) target += "&service=" + PercentEncode(args.service);
  if (!args.decision.empty()) target += "&decision=" + PercentEncode(args.decision);
  if (!args.action.empty()) target += "&action=" + PercentEncode(args.action);
  if (!after_seq.is_null()) {
    target += "&after_seq=" + after_seq.dump() + "&wait=" + std::to_string(kFollowWaitSeconds);
  }
  return target;
}

// Each cell is sanitised on its own: the table's line breaks must survive.
Row RecordRow(const nlohmann::json& record) {
  Row row;
  for (const char* key :
       {"time", "service", "uid", "action", "decision", "rule", "status", "request_id"}) {
    row.push_back(Sanitize(Field(record, key)));
  }
  return row;
}

const Row kTailHeader = {"TIME", "SERVICE", "UID", "ACTION", "DECISION", "RULE", "STATUS",
                         "REQUEST_ID"};

// Prints `records` as JSON lines or table rows; the table header only when `header`.
void PrintRecords(const GlobalOptions& options, const nlohmann::json& records, bool header) {
  if (!records.is_array()) return;
  if (options.json) {
    std::string out;
    for (const nlohmann::json& record : records) {
      out += record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    WriteOut(out);
    return;
  }
  std::vector<Row> rows;
  for (const nlohmann::json& record : records) rows.push_back(RecordRow(record));
  if (rows.empty() && !header) return;
  std::string table = FormatTable(kTailHeader, rows);
  if (!header) table.erase(0, table.find('\n') + 1);
  WriteOut(table);
}

int RunTail(const GlobalOptions& options, const TailArgs& args) {
  const AgentClient client(options.admin_socket);
  JsonAnswer answer = CallAgent(client, {.target = TailTarget(args, nullptr)}, options);
  if (answer.exit_code != kExitOk) return answer.exit_code;
  PrintRecords(options, Member(answer.answer, "records"), /*header=*/true);
  while (args.follow) {
    const nlohmann::json last_seq = Member(answer.answer, "last_seq");
    const AgentRequest poll{.target = TailTarget(args, last_seq),
                            .timeout = std::chrono::seconds(kFollowWaitSeconds + 15)};
    answer = CallAgent(client, poll, options);
    if (answer.exit_code != kExitOk) return answer.exit_code;
    PrintRecords(options, Member(answer.answer, "records"), /*header=*/false);
  }
  return kExitOk;
}

bool ReadWholeFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

// The configured audit file, for `audit verify` without FILE.
bool ConfiguredAuditFile(const std::string& config_path, std::string& file) {
  std::string text;
  if (!ReadWholeFile(config_path, text)) {
    PrintError("cannot read " + config_path + " (give the audit FILE, or --config)");
    return false;
  }
  Result<AgentConfig> config = ParseAgentConfig(text, config_path);
  if (!config) {
    PrintError(config.error().message);
    return false;
  }
  if (config->audit.file.empty()) {
    PrintError(config_path + " configures no audit file ([audit] file is empty)");
    return false;
  }
  file = config->audit.file;
  return true;
}

int RunVerify(const GlobalOptions& options, VerifyArgs args) {
  if (args.files.empty()) {
    std::string file;
    if (!ConfiguredAuditFile(args.config, file)) return kExitUsage;
    args.files.push_back(file);
  }
  std::vector<std::string> contents(args.files.size());
  for (std::size_t i = 0; i < args.files.size(); ++i) {
    if (!ReadWholeFile(args.files[i], contents[i])) {
      PrintError("cannot read " + args.files[i]);
      return kExitFailure;
    }
  }
  const ChainVerdict verdict =
      VerifyAuditChain(std::vector<std::string_view>(contents.begin(), contents.end()));
  if (options.json) {
    nlohmann::json out = {{"ok", verdict.ok},           {"lines", verdict.lines},
                          {"first_seq", verdict.first_seq}, {"last_seq", verdict.last_seq},
                          {"chains", verdict.chains},   {"files", args.files}};
    if (!verdict.ok) {
      out["file"] = args.files[verdict.file];
      out["line"] = verdict.line;
      out["why"] = verdict.why;
    }
    WriteOut(PrettyJson(out));
  } else if (verdict.ok) {
    std::string text = "OK: " + std::to_string(verdict.lines) + " lines, seq " +
                       std::to_string(verdict.first_seq) + ".." + std::to_string(verdict.last_seq);
    if (args.files.size() > 1) text += " in " + std::to_string(args.files.size()) + " files";
    if (verdict.chains > 1) {
      text += " (" + std::to_string(verdict.chains) + " chains started from nothing: restarts "
              "without the previous file, or files out of order)";
    }
    WriteOut(text + "\n");
  } else {
    WriteOut(Sanitize("BROKEN: " + args.files[verdict.file] + ":" + std::to_string(verdict.line) +
                      ": " + verdict.why) +
             "\n");
  }
  return verdict.ok ? kExitOk : kExitFailure;
}

}  // namespace

void RegisterAuditCommands(CLI::App& app, const GlobalOptions& options, CommandAction& action) {
  CLI::App* audit = app.add_subcommand("audit", "Read and check the audit trail");
  audit->require_subcommand(1);

  auto tail_args = std::make_shared<TailArgs>();
  CLI::App* tail = audit->add_subcommand("tail", "The last audit records (admin socket)");
  tail->add_option("-n", tail_args->n, "How many records (1-10000)")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  tail->add_flag("-f,--follow", tail_args->follow, "Keep printing new records until interrupted");
  tail->add_option("--service", tail_args->service, "Only this service");
  tail->add_option("--decision", tail_args->decision, "Only this decision: allow, deny, error");
  tail->add_option("--action", tail_args->action, "Only this action (e.g. token:all-apis)");
  tail->callback([&options, &action, tail_args] {
    action = [&options, tail_args] { return RunTail(options, *tail_args); };
  });

  auto verify_args = std::make_shared<VerifyArgs>();
  CLI::App* verify = audit->add_subcommand(
      "verify", "Check the hash chain of audit files (oldest first); exit 1 at the first break");
  verify->add_option("FILE", verify_args->files,
                     "Audit files, oldest first (default: [audit] file of --config)");
  verify->add_option("--config", verify_args->config, "dbproxyd's configuration file")
      ->envname("DBPROXY_CONFIG")
      ->capture_default_str();
  verify->callback([&options, &action, verify_args] {
    action = [&options, verify_args] { return RunVerify(options, *verify_args); };
  });
}

}  // namespace dbproxy::cli
