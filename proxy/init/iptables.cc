#include "proxy/init/iptables.h"

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/strings.h"

namespace weft::proxy::init {
namespace {

struct Run {
  int code = -1;
  std::string output;  // stdout and stderr
};

// Runs `command` (a fixed tool name and fixed arguments: nothing from the user reaches the
// shell) and collects what it prints, at most 16 MiB.
Run run(const std::string& command) {
  Run r;
  FILE* pipe = ::popen(weft::strCat(command, " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) {
    if (r.output.size() < (16u << 20)) r.output.append(buf, n);
  }
  const int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

size_t ruleCount(const std::string& save) {
  size_t count = 0;
  std::istringstream lines(save);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("-A ")) ++count;
  }
  return count;
}

}  // namespace

std::string tool(Backend backend, Family family, const char* what) {
  return weft::strCat(family == Family::kIPv4 ? "iptables-" : "ip6tables-",
                      backend == Backend::kNft ? "nft-" : "legacy-", what);
}

Backend detectBackend() {
  const Run legacy = run(tool(Backend::kLegacy, Family::kIPv4, "save"));
  const Run nft = run(tool(Backend::kNft, Family::kIPv4, "save"));
  if (legacy.code == 0 && (nft.code != 0 || ruleCount(legacy.output) > ruleCount(nft.output))) {
    return Backend::kLegacy;
  }
  return Backend::kNft;
}

absl::StatusOr<std::string> saveNat(Backend backend, Family family) {
  const std::string cmd = weft::strCat(tool(backend, family, "save"), " -t nat");
  Run r = run(cmd);
  if (r.code != 0) {
    return absl::UnavailableError(weft::strCat(cmd, " failed (exit ", r.code, "): ", r.output));
  }
  return std::move(r.output);
}

absl::Status restore(Backend backend, Family family, const std::string& rules) {
  char path[] = "/tmp/weft-init-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return absl::UnavailableError("cannot create a temporary file for the rules");
  ::close(fd);
  {
    std::ofstream out(path);
    out << rules;
  }
  const std::string cmd = weft::strCat(tool(backend, family, "restore"), " --noflush < ", path);
  const Run r = run(cmd);
  ::unlink(path);
  if (r.code != 0) {
    return absl::UnavailableError(weft::strCat(tool(backend, family, "restore"),
                                               " --noflush refused the rules (exit ", r.code,
                                               "): ", r.output));
  }
  return absl::OkStatus();
}

}  // namespace weft::proxy::init
