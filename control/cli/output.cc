#include "control/cli/output.h"

#include <algorithm>
#include <ostream>

#include <nlohmann/json.hpp>

namespace weft::control::cli {

void printTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

int fail(std::ostream& err, const std::string& what, const absl::Status& status) {
  err << "weftctl: " << what << ": " << status.message() << "\n";
  if (absl::IsUnavailable(status)) return kExitUnreachable;
  if (absl::IsInvalidArgument(status)) return kExitUsage;
  return kExitRefused;
}

int failResponse(std::ostream& err, const std::string& what, const ApiResponse& response) {
  std::string reason = "error";
  std::string message = response.body;
  const nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, false);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
    reason = doc["error"].value("reason", reason);
    message = doc["error"].value("message", message);
  }
  while (!message.empty() && message.back() == '\n') message.pop_back();
  err << "weftctl: " << what << ": refused (" << response.status << " " << reason
      << "): " << message << "\n";
  if (response.status == 401 || response.status == 403) {
    err << "weftctl: give the admin token with --token, WEFT_TOKEN, or --data-dir DIR "
           "(weft-control's DIR/admin.token)\n";
    return kExitUnauthorized;
  }
  return kExitRefused;
}

}  // namespace weft::control::cli
