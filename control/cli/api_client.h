#pragma once

// weftctl's side of weft-control's --api: one HTTP/1.1 request at a time over loopback or the
// cluster network, with the admin token, each bounded by a timeout.

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "control/api/address.h"

namespace weft::control::cli {

struct ApiResponse {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

class ApiClient {
 public:
  // `server`: "http://HOST:PORT" or "HOST:PORT" (HOST an IP literal).
  static absl::StatusOr<ApiClient> create(std::string_view server, std::string token,
                                          std::chrono::milliseconds timeout);

  // Unavailable when the server cannot be reached or does not answer in time: "cannot reach
  // weft-control at 127.0.0.1:15011: connect: Connection refused". Any HTTP answer is returned.
  // `body` is JSON unless `content_type` says otherwise; `source` (when set) goes as
  // x-weft-source, the name weft-control uses for the body in errors.
  absl::StatusOr<ApiResponse> call(std::string_view method, std::string_view path,
                                   std::string_view body = {},
                                   std::string_view content_type = "application/json",
                                   std::string_view source = {}) const;

  const std::string& server() const { return server_; }

 private:
  ApiClient(api::HostPort address, std::string token, std::chrono::milliseconds timeout);

  api::HostPort address_;
  std::string server_;  // "HOST:PORT", for messages
  std::string token_;
  std::chrono::milliseconds timeout_;
};

}  // namespace weft::control::cli
