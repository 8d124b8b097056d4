#pragma once

// Command-line flags, the same way in every weft binary: `--flag value` or `--flag=value`, a
// table from each flag to how its value is applied, errors that name the flag.

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "control/api/address.h"

namespace weft::runtime::flags {

// Applies one flag's value; an error names the flag.
using Setter = std::function<absl::Status(std::string_view flag, std::string_view value)>;
using Flag = std::pair<std::string_view, Setter>;

// "<flag>: <why>", InvalidArgument.
absl::Status bad(std::string_view flag, std::string_view why);

Setter text(std::string* field);
Setter address(api::HostPort* field);
Setter seconds(std::chrono::seconds* field);
Setter count(uint32_t* field);
// A TCP port, 1-65535.
Setter port(uint16_t* field);
// A comma-separated list of ports, which replaces what `field` held (a default).
Setter ports(std::vector<uint16_t>* field);
// A duration as operators write one: "24h", "90s", "1h30m" (api::parseDuration).
Setter duration(std::chrono::milliseconds* field);

// Applies argv[1..] through `flags`. --help or -h: NotFound with `usage` as the message.
absl::Status parse(int argc, char** argv, std::span<const Flag> flags, const std::string& usage);

}  // namespace weft::runtime::flags
