// The --clients-file format: one service principal per line,
//   client_id client_secret [scope,scope,...]
// separated by spaces or tabs. Blank lines and lines starting with '#' are ignored. The optional
// third field restricts the scopes the client may obtain.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "tests/fake_workspace/state.hpp"

namespace dbproxy::fake {

// Parses `text` (read from `file_name`, used in messages) into `clients`. Returns an empty string
// on success, else "file:line: problem" and leaves `clients` unchanged.
std::string ParseClientsFile(std::string_view text, std::string_view file_name,
                             std::map<std::string, ClientRecord>& clients);

}  // namespace dbproxy::fake
