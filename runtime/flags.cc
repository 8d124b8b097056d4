#include "runtime/flags.h"

#include <optional>

#include "common/strings.h"
#include "control/api/duration.h"

namespace weft::runtime::flags {

absl::Status bad(std::string_view flag, std::string_view why) {
  return absl::InvalidArgumentError(weft::strCat(flag, ": ", why));
}

Setter text(std::string* field) {
  return [field](std::string_view, std::string_view v) {
    *field = std::string(v);
    return absl::OkStatus();
  };
}

Setter address(api::HostPort* field) {
  return [field](std::string_view flag, std::string_view v) {
    auto hp = api::parseHostPort(v);
    if (!hp.ok()) return bad(flag, weft::sv(hp.status().message()));
    *field = *hp;
    return absl::OkStatus();
  };
}

Setter seconds(std::chrono::seconds* field) {
  return [field](std::string_view flag, std::string_view v) {
    uint32_t n = 0;
    if (!weft::parseUnsigned(v, &n)) {
      return bad(flag, weft::strCat("want whole seconds, got '", v, "'"));
    }
    *field = std::chrono::seconds(n);
    return absl::OkStatus();
  };
}

Setter duration(std::chrono::milliseconds* field) {
  return [field](std::string_view flag, std::string_view v) {
    const std::optional<api::Duration> d = api::parseDuration(v);
    if (!d) return bad(flag, weft::strCat("want a duration such as 24h or 90s, got '", v, "'"));
    *field = *d;
    return absl::OkStatus();
  };
}

Setter port(uint16_t* field) {
  return [field](std::string_view flag, std::string_view v) {
    uint32_t n = 0;
    if (!weft::parseUnsigned(v, &n) || n == 0 || n > 65535) {
      return bad(flag, weft::strCat("want a port (1-65535), got '", v, "'"));
    }
    *field = static_cast<uint16_t>(n);
    return absl::OkStatus();
  };
}

Setter ports(std::vector<uint16_t>* field) {
  return [field](std::string_view flag, std::string_view v) {
    std::vector<uint16_t> parsed;
    for (std::string_view item : weft::split(v, ',', true)) {
      uint16_t p = 0;
      if (auto st = port(&p)(flag, weft::trim(item)); !st.ok()) return st;
      parsed.push_back(p);
    }
    *field = std::move(parsed);
    return absl::OkStatus();
  };
}

Setter count(uint32_t* field) {
  return [field](std::string_view flag, std::string_view v) {
    if (!weft::parseUnsigned(v, field)) {
      return bad(flag, weft::strCat("want a count, got '", v, "'"));
    }
    return absl::OkStatus();
  };
}

absl::Status parse(int argc, char** argv, std::span<const Flag> flags, const std::string& usage) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return absl::NotFoundError(usage);
    size_t eq = arg.starts_with("--") ? arg.find('=') : std::string_view::npos;
    std::string_view flag = arg.substr(0, eq);
    const Setter* apply = nullptr;
    for (const auto& [name, setter] : flags) {
      if (name == flag) apply = &setter;
    }
    if (apply == nullptr) return bad(flag, "unknown flag (see --help)");
    std::string_view value;
    if (eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
    } else {
      if (i + 1 >= argc) return bad(flag, "missing value");
      value = argv[++i];
    }
    if (auto st = (*apply)(flag, value); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace weft::runtime::flags
