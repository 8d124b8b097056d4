#pragma once

// How weftctl answers: tables for people, the server's JSON for scripts (-o json), and one line
// on stderr for every failure, with an exit code that says which kind it was.

#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "control/cli/api_client.h"
#include "control/cli/args.h"

namespace weft::control::cli {

// Columns padded to their widest cell, two spaces apart; the first row is the header.
void printTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

// "weftctl: <what>: <message>" and the exit code for a failure before or around the request.
int fail(std::ostream& err, const std::string& what, const absl::Status& status);

// For a response that is not 2xx: "weftctl: token create: refused (400 invalid_field):
// namespace: …" from the server's {"error": {"reason", "message"}}, and the exit code
// (kExitUnauthorized for 401/403, with a hint where the token comes from).
int failResponse(std::ostream& err, const std::string& what, const ApiResponse& response);

}  // namespace weft::control::cli
