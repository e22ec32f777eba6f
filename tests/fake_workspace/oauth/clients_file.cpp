#include "tests/fake_workspace/oauth/clients_file.hpp"

#include <sstream>
#include <vector>

#include "tests/fake_workspace/oauth/scopes.hpp"

namespace dbproxy::fake {
namespace {

std::vector<std::string> SplitOn(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(separator, start), text.size());
    parts.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

}  // namespace

std::string ParseClientsFile(std::string_view text, std::string_view file_name,
                             std::map<std::string, ClientRecord>& clients) {
  std::map<std::string, ClientRecord> parsed;
  std::istringstream lines{std::string(text)};
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    const std::string where = std::string(file_name) + ":" + std::to_string(number) + ": ";
    std::istringstream fields(line);
    std::vector<std::string> words;
    for (std::string word; fields >> word;)
      words.push_back(word);
    if (words.empty() || words[0].starts_with('#')) continue;
    if (words.size() < 2 || words.size() > 3) {
      return where + "expected 'client_id client_secret [scope,scope,...]'";
    }
    ClientRecord record{.secret = words[1]};
    if (words.size() == 3) {
      record.allowed_scopes = SplitOn(words[2], ',');
      for (const std::string& scope : *record.allowed_scopes) {
        if (!ParseScope(scope)) return where + "unknown scope '" + scope + "'";
      }
    }
    if (!parsed.emplace(words[0], std::move(record)).second) {
      return where + "client '" + words[0] + "' listed twice";
    }
  }
  clients.merge(parsed);
  return {};
}

}  // namespace dbproxy::fake
