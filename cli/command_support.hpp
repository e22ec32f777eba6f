// What every dbproxyctl command shares: global options, exit codes, and one call helper that
// turns an agent answer into either parsed JSON or a reported error.
//
// Output goes straight to file descriptors 1 and 2 with write(2): nothing lingers in stdio
// buffers (one of the answers holds an access token), and lines are never interleaved oddly.
// Threading: single-threaded CLI use.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cli/agent_client.hpp"

namespace dbproxy::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,      // the agent refused or answered something unexpected
  kExitUsage = 2,        // bad command line
  kExitUnreachable = 3,  // the socket is missing, refuses, or is not ours to use
};

struct GlobalOptions {
  std::string socket = "/run/dbproxy/agent.sock";
  std::string admin_socket = "/run/dbproxy/admin.sock";
  bool json = false;
};

// The command chosen on the command line: set by the subcommand's callback, run by main().
using CommandAction = std::function<int()>;

// Writes `text` to stdout, unbuffered.
void WriteOut(std::string_view text);
// Writes "dbproxyctl: <message>\n" to stderr.
void PrintError(std::string_view message);

struct JsonAnswer {
  int exit_code = kExitOk;  // non-zero: the failure has already been reported
  nlohmann::json answer;    // the parsed 2xx answer when exit_code == kExitOk
};

// Sends `request` and reports every failure itself:
//   transport failures     one line on stderr; kExitUnreachable or kExitFailure
//   agent error answers    FormatErrorLine() on stderr (and the error JSON on stdout with
//                          --json); kExitFailure
//   non-JSON or non-2xx    "unexpected answer from dbproxyd (HTTP n)"; kExitFailure
// Never prints the answer body except as the error JSON above. With `sensitive`, the raw body is
// wiped before returning; the parsed copy is then the caller's to wipe (WipeJsonStrings).
JsonAnswer CallAgent(const AgentClient& client, const AgentRequest& request,
                     const GlobalOptions& options, bool sensitive = false);

// POSTs `body` (JSON) to `target` on the admin socket through CallAgent.
JsonAnswer PostJsonToAdmin(const std::string& target, const nlohmann::json& body,
                           const GlobalOptions& options);

// Parses a --for DURATION option ("90s", "1h30m") into `seconds`; an empty text leaves it 0.
// On a bad value prints "--for: <why>" and returns false (the caller exits kExitUsage).
bool ParseForOption(const std::string& text, std::int64_t& seconds);

// Prints PrettyJson(answer) with --json, else human(answer). Returns kExitOk.
int PrintAnswer(const GlobalOptions& options, const nlohmann::json& answer,
                const std::function<std::string(const nlohmann::json&)>& human);

// Wipes every string value inside `value` (WipeString), for answers that held a token.
void WipeJsonStrings(nlohmann::json& value) noexcept;

}  // namespace dbproxy::cli
