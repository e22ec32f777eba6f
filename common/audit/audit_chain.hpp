// The audit trail's hash chain: how lines are linked, and how a chain is checked.
//
// Every line of an audit file is one JSON object whose first two members are
//   "seq"   a counter that goes up by one per line, across files and restarts, and
//   "prev"  the SHA-256 (hex) of the previous line's exact bytes (without its newline).
// A file starts with a genesis line {"seq","prev","genesis":true,"time","host","reason"} whose
// "prev" is the hash of the last line written before it (the previous file's last line after a
// rotation, the file's own last line after a restart) or 64 zeros for a brand-new chain.
//
// Resists: editing, deleting, inserting or reordering lines (the next line's "prev" or "seq" no
// longer fits), cutting the file mid-line (no final newline). Does not resist: removing whole
// lines from the end of the last file, or rewriting the whole chain from some line on (the
// attacker can recompute every hash); the journald copy and log shipping cover those.
//
// Pure: no I/O, no clock. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/result.hpp"

namespace dbproxy {

inline constexpr std::string_view kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Lowercase hex SHA-256 of `line`.
std::string HashAuditLine(std::string_view line);

// Where the chain continues: the next line's seq and prev.
struct ChainHead {
  std::uint64_t next_seq = 0;
  std::string prev_hash = std::string(kZeroHash);
};

// Prefixes `record_json` (a JSON object, as FormatAuditRecord makes) with seq and prev and
// advances `head`. Returns the line without a newline.
// REQUIRES: record_json starts with '{' and is a JSON object with at least one member.
std::string ChainAuditLine(ChainHead& head, std::string_view record_json);

// A genesis line (see above) at `time_us`; `reason` is "start", "rotate", "copytruncate" or
// "reopen". Advances `head`.
std::string GenesisAuditLine(ChainHead& head, std::int64_t time_us, std::string_view host,
                             std::string_view reason);

// The head after `last_line`, which must be a chain line (its "seq" is read). kCorrupt when it
// is not JSON or has no valid seq.
Result<ChainHead> ChainHeadAfter(std::string_view last_line);

struct ChainVerdict {
  bool ok = true;
  std::size_t lines = 0;  // lines checked (all of them when ok)
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  // Chains in the input: 1 for the first line, plus each later genesis line with a zero "prev"
  // (a start from nothing: no earlier file given, or a restart after the end was damaged).
  // More than one in a set of files deserves a look (files out of order, a missing file).
  std::size_t chains = 0;
  // When !ok: the file (index into the input) and 1-based line where the chain breaks, and why.
  std::size_t file = 0;
  std::size_t line = 0;
  std::string why;
};

// Checks the chain through `files` (whole file contents, oldest first). The first line of the
// first file must be a genesis line; each later file must start with a genesis line that
// chains to the previous file's last line, or with a line that simply continues the chain.
// A genesis line with a zero "prev" anywhere starts a new chain (a fresh start with no earlier
// file); any other line must carry seq = previous seq + 1 and prev = hash of the previous line.
ChainVerdict VerifyAuditChain(const std::vector<std::string_view>& files);

}  // namespace dbproxy
