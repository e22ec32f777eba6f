#include "common/audit/audit_chain.hpp"

#include <sodium.h>

#include <array>

#include <nlohmann/json.hpp>

#include "common/audit/audit_record.hpp"

namespace dbproxy {
namespace {

constexpr std::size_t kHashHexSize = 64;

bool IsHexHash(const std::string& text) {
  if (text.size() != kHashHexSize) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string ChainPrefix(const ChainHead& head) {
  return "{\"seq\":" + std::to_string(head.next_seq) + ",\"prev\":\"" + head.prev_hash + "\"";
}

// The chain members of one line, or why the line cannot be part of a chain.
struct ParsedLine {
  std::uint64_t seq = 0;
  std::string prev;
  bool genesis = false;
  std::string problem;  // empty: the line is well-formed
};

ParsedLine ParseChainLine(std::string_view line) {
  ParsedLine out;
  const nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    out.problem = "not a JSON object (edited or cut)";
    return out;
  }
  const auto seq = json.find("seq");
  const auto prev = json.find("prev");
  if (seq == json.end() || !seq->is_number_unsigned() || prev == json.end() ||
      !prev->is_string() || !IsHexHash(prev->get<std::string>())) {
    out.problem = "no valid \"seq\" and \"prev\" (not an audit chain line)";
    return out;
  }
  out.seq = seq->get<std::uint64_t>();
  out.prev = prev->get<std::string>();
  const auto genesis = json.find("genesis");
  out.genesis = genesis != json.end() && genesis->is_boolean() && genesis->get<bool>();
  return out;
}

// Splits `content` into lines; sets `cut` when the last line has no newline.
std::vector<std::string_view> SplitLines(std::string_view content, bool& cut) {
  std::vector<std::string_view> lines;
  cut = false;
  std::size_t start = 0;
  while (start < content.size()) {
    const std::size_t end = content.find('\n', start);
    if (end == std::string_view::npos) {
      lines.push_back(content.substr(start));
      cut = true;
      break;
    }
    lines.push_back(content.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// Why `line` does not follow a line with `seq`/`hash`; empty when it does.
std::string Misfit(const ParsedLine& line, std::uint64_t seq, const std::string& hash) {
  if (line.genesis && line.prev == kZeroHash) return "";  // a new chain starts here
  if (line.seq == seq + 1 && line.prev == hash) return "";
  if (line.seq > seq + 1) {
    return "seq " + std::to_string(line.seq) + " follows seq " + std::to_string(seq) + ": " +
           std::to_string(line.seq - seq - 1) + " line(s) missing here (deleted or moved)";
  }
  if (line.seq <= seq) {
    return "seq " + std::to_string(line.seq) + " after seq " + std::to_string(seq) +
           " (lines reordered or duplicated)";
  }
  return "\"prev\" does not match the hash of the line before: that line was edited, or a line "
         "was replaced";
}

}  // namespace

std::string HashAuditLine(std::string_view line) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(line.data()),
                     line.size());
  std::string hex(digest.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  hex.pop_back();
  return hex;
}

std::string ChainAuditLine(ChainHead& head, std::string_view record_json) {
  std::string line = ChainPrefix(head);
  if (record_json.size() > 2) line += ',';
  line.append(record_json.substr(1));
  head.next_seq += 1;
  head.prev_hash = HashAuditLine(line);
  return line;
}

std::string GenesisAuditLine(ChainHead& head, std::int64_t time_us, std::string_view host,
                             std::string_view reason) {
  const nlohmann::ordered_json rest = {{"genesis", true},
                                       {"time", FormatRfc3339Micros(time_us)},
                                       {"host", host},
                                       {"reason", reason}};
  return ChainAuditLine(head, rest.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Result<ChainHead> ChainHeadAfter(std::string_view last_line) {
  const ParsedLine parsed = ParseChainLine(last_line);
  if (!parsed.problem.empty()) return MakeError(Errc::kCorrupt, parsed.problem);
  return ChainHead{.next_seq = parsed.seq + 1, .prev_hash = HashAuditLine(last_line)};
}

ChainVerdict VerifyAuditChain(const std::vector<std::string_view>& files) {
  ChainVerdict verdict;
  bool have_previous = false;
  std::uint64_t seq = 0;
  std::string hash;
  auto fail = [&verdict](std::size_t file, std::size_t line, std::string why) {
    verdict.ok = false;
    verdict.file = file;
    verdict.line = line;
    verdict.why = std::move(why);
    return verdict;
  };
  for (std::size_t f = 0; f < files.size(); ++f) {
    bool cut = false;
    const std::vector<std::string_view> lines = SplitLines(files[f], cut);
    // The agent starts every file it writes with a genesis line at once: an empty file was
    // emptied by someone else (a trail that verifies as "0 lines" would prove nothing).
    if (lines.empty()) {
      return fail(f, 1, "the file is empty: every audit file starts with a genesis line (one emptied by "
                     "copytruncate gets it with the next record)");
    }
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (cut && i + 1 == lines.size()) {
        return fail(f, i + 1, "the last line has no newline (the file was cut mid-line)");
      }
      const ParsedLine parsed = ParseChainLine(lines[i]);
      if (!parsed.problem.empty()) return fail(f, i + 1, parsed.problem);
      if (!have_previous || (parsed.genesis && parsed.prev == kZeroHash)) verdict.chains += 1;
      if (!have_previous) {
        if (!parsed.genesis) {
          return fail(f, i + 1, "the chain does not start with a genesis line (the file starts "
                                "mid-chain: give the earlier files too)");
        }
        verdict.first_seq = parsed.seq;
      } else if (std::string why = Misfit(parsed, seq, hash); !why.empty()) {
        return fail(f, i + 1, std::move(why));
      }
      have_previous = true;
      seq = parsed.seq;
      hash = HashAuditLine(lines[i]);
      verdict.last_seq = seq;
      verdict.lines += 1;
    }
  }
  return verdict;
}

}  // namespace dbproxy
