// TableReader: reads one TOML table into plain structs, collecting errors with file:line.
//
// Every key that is read is remembered; Finish() reports the keys nobody read as "unknown key"
// errors, so a typo in a config file is an error rather than a silently ignored setting.
// Internal to common/: only config and policy parsers include it (toml++ stays out of the API).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

namespace dbproxy {

class TableReader {
 public:
  // `context` names the table in messages ("[agent]", "service 'billing-etl'").
  // `errors` outlives the reader and collects "file:line: message" lines.
  TableReader(const toml::table& table, std::string_view source, std::string context,
              std::vector<std::string>& errors);

  std::optional<std::string> String(std::string_view key, bool required = false);
  std::optional<std::int64_t> Int(std::string_view key, std::int64_t min, std::int64_t max,
                                  bool required = false);
  std::optional<std::vector<std::string>> StringArray(std::string_view key, bool required = false);
  // A table of string values (attributes = { env = "production" }).
  std::optional<std::map<std::string, std::string>> StringMap(std::string_view key);
  // A sub-table; nullptr when absent (an error when present with another type).
  const toml::table* Table(std::string_view key, bool required = false);

  // The node at `key` (for error positions), without marking it read; nullptr when absent.
  const toml::node* Peek(std::string_view key) const { return table_.get(key); }

  // Reports every key that was never read. Call once, after all reads.
  void Finish();

  // "file:line" of `node`, or of the table itself when `node` is null.
  std::string Where(const toml::node* node = nullptr) const;
  void AddError(const toml::node* node, std::string_view message);
  // Adds an already formatted "file:line: message" error.
  void AddRaw(std::string error) { errors_.push_back(std::move(error)); }
  const std::string& context() const { return context_; }
  void set_context(std::string context) { context_ = std::move(context); }
  // Marks `key` as handled by the caller (so Finish() does not call it unknown).
  void MarkRead(std::string_view key) { read_.emplace(key); }

 private:
  const toml::node* Lookup(std::string_view key, bool required);

  const toml::table& table_;
  std::string source_;
  std::string context_;
  std::vector<std::string>& errors_;
  std::set<std::string, std::less<>> read_;
};

// Parses `text` as TOML; a syntax error becomes one "file:line:col: message" entry in `errors`.
std::optional<toml::table> ParseToml(std::string_view text, std::string_view source,
                                     std::vector<std::string>& errors);

}  // namespace dbproxy
