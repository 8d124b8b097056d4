#pragma once

// weftctl's command line: the words of the command ("token create"), its flags (`--flag value`,
// `--flag=value`, `-o json`), and the global options every command shares.

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace weft::control::cli {

// Exit codes scripts can trust.
enum ExitCode : int {
  kExitOk = 0,
  kExitRefused = 1,       // weft-control answered with an error (the reason is printed)
  kExitUsage = 2,         // the command line is wrong
  kExitUnreachable = 3,   // weft-control could not be reached
  kExitUnauthorized = 4,  // the admin token is missing or wrong
  kExitDiffers = 5,       // `diff`: what apply would change is not empty
  kExitDenied = 6,        // `authz check`: the request would be refused
};

struct Args {
  std::vector<std::string> words;
  std::map<std::string, std::string> flags;  // by name, without dashes

  // The flag's value, or `fallback`.
  std::string get(const std::string& name, const std::string& fallback = "") const;
  // InvalidArgument naming the first flag not in `allowed` (nor a global one).
  absl::Status onlyFlags(const std::set<std::string>& allowed) const;
};

struct GlobalOptions {
  std::string server;  // --server, WEFT_SERVER, default http://127.0.0.1:15011
  std::string token;   // --token, WEFT_TOKEN, or DIR/admin.token from --data-dir
  std::string output;  // -o/--output: "text" (default), "json" or "yaml"
  std::chrono::milliseconds timeout{10000};
};

// Splits argv; flags that take no value: --help/-h, --finish, --dry-run, -A/--all-namespaces;
// -n is --namespace, -f --filename, -o --output. InvalidArgument for a flag without
// a value.
absl::StatusOr<Args> splitArgs(int argc, char** argv);
// The global options from `args` and the environment; the token file is read here.
absl::StatusOr<GlobalOptions> globalOptions(const Args& args);

std::string usage();

}  // namespace weft::control::cli
