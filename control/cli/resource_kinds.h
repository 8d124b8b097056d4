#pragma once

// The kinds weftctl names on its command line ("svc", "routes") and how `get` shows each in a
// table.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace weft::control::cli {

// "service", "svc", "Services" -> "Service"; "all" -> "" (every kind); nullopt if unknown.
std::optional<std::string> kindFromWord(std::string_view word);

// `get`'s columns for a kind ("" for mixed kinds), header first.
std::vector<std::string> tableHeader(std::string_view kind);
std::vector<std::string> tableRow(std::string_view kind, const nlohmann::json& object);

}  // namespace weft::control::cli
