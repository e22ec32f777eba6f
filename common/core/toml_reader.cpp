#include "common/core/toml_reader.hpp"

#include <utility>

namespace dbproxy {

TableReader::TableReader(const toml::table& table, std::string_view source, std::string context,
                         std::vector<std::string>& errors)
    : table_(table), source_(source), context_(std::move(context)), errors_(errors) {}

std::string TableReader::Where(const toml::node* node) const {
  const toml::source_region& region = node != nullptr ? node->source() : table_.source();
  return source_ + ":" + std::to_string(region.begin.line);
}

void TableReader::AddError(const toml::node* node, std::string_view message) {
  errors_.push_back(Where(node) + ": " + context_ + ": " + std::string(message));
}

const toml::node* TableReader::Lookup(std::string_view key, bool required) {
  read_.emplace(key);
  const toml::node* node = table_.get(key);
  if (node == nullptr && required) AddError(nullptr, "missing required key '" + std::string(key) + "'");
  return node;
}

std::optional<std::string> TableReader::String(std::string_view key, bool required) {
  const toml::node* node = Lookup(key, required);
  if (node == nullptr) return std::nullopt;
  if (const auto* value = node->as_string()) {
    // A NUL would silently truncate the value at the first C API (open, bind).
    if (value->get().find('\0') != std::string::npos) {
      AddError(node, "'" + std::string(key) + "' must not contain a NUL character");
      return std::nullopt;
    }
    return value->get();
  }
  AddError(node, "'" + std::string(key) + "' must be a string");
  return std::nullopt;
}

std::optional<std::int64_t> TableReader::Int(std::string_view key, std::int64_t min,
                                             std::int64_t max, bool required) {
  const toml::node* node = Lookup(key, required);
  if (node == nullptr) return std::nullopt;
  const auto* value = node->as_integer();
  if (value == nullptr) {
    AddError(node, "'" + std::string(key) + "' must be an integer");
    return std::nullopt;
  }
  if (value->get() < min || value->get() > max) {
    AddError(node, "'" + std::string(key) + "' must be between " + std::to_string(min) + " and " +
                       std::to_string(max));
    return std::nullopt;
  }
  return value->get();
}

std::optional<std::vector<std::string>> TableReader::StringArray(std::string_view key,
                                                                 bool required) {
  const toml::node* node = Lookup(key, required);
  if (node == nullptr) return std::nullopt;
  const auto* array = node->as_array();
  if (array == nullptr) {
    AddError(node, "'" + std::string(key) + "' must be an array of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const toml::node& element : *array) {
    const auto* text = element.as_string();
    if (text == nullptr) {
      AddError(&element, "'" + std::string(key) + "' must contain only strings");
      return std::nullopt;
    }
    out.push_back(text->get());
  }
  return out;
}

std::optional<std::map<std::string, std::string>> TableReader::StringMap(std::string_view key) {
  const toml::node* node = Lookup(key, false);
  if (node == nullptr) return std::nullopt;
  const auto* table = node->as_table();
  if (table == nullptr) {
    AddError(node, "'" + std::string(key) + "' must be a table of strings");
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : *table) {
    const auto* text = value.as_string();
    if (text == nullptr) {
      AddError(&value, "'" + std::string(key) + "." + std::string(name.str()) +
                           "' must be a string");
      continue;
    }
    out.emplace(std::string(name.str()), text->get());
  }
  return out;
}

const toml::table* TableReader::Table(std::string_view key, bool required) {
  const toml::node* node = Lookup(key, required);
  if (node == nullptr) return nullptr;
  if (const auto* table = node->as_table()) return table;
  AddError(node, "'" + std::string(key) + "' must be a table");
  return nullptr;
}

void TableReader::Finish() {
  for (const auto& [key, value] : table_) {
    if (!read_.contains(key.str())) {
      AddError(&value, "unknown key '" + std::string(key.str()) + "'");
    }
  }
}

std::optional<toml::table> ParseToml(std::string_view text, std::string_view source,
                                     std::vector<std::string>& errors) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    // The one place TOML text becomes data: translate the library's exception here.
    const auto& begin = error.source().begin;
    errors.push_back(std::string(source) + ":" + std::to_string(begin.line) + ":" +
                     std::to_string(begin.column) + ": " + std::string(error.description()));
    return std::nullopt;
  }
}

}  // namespace dbproxy
