#pragma once

#include <chrono>
#include <string>

#include "absl/status/statusor.h"
#include "control/api/address.h"

namespace weft::control {

// What weft-control takes on its command line. The CA, the proxies' port (--listen) and the
// operators' API (--api) arrive with the identity issue (#16 §1); today it serves its admin port.
struct Options {
  std::string data_dir;  // required: where its durable state lives (created 0700)
  std::string trust_domain = "cluster.local";
  api::HostPort admin{"127.0.0.1", 15014};
  std::chrono::seconds drain{30};
  std::string log_level = "info";
};

// Parses argv. --help: NotFound with the usage text as the message. Errors name the flag.
absl::StatusOr<Options> parseOptions(int argc, char** argv);
std::string usage();

}  // namespace weft::control
