#include "net/http/http2/client_errors.h"

namespace weft::http::http2 {

const boost::system::error_category& clientCategory() {
  struct Category : boost::system::error_category {
    const char* name() const noexcept override { return "http2-client"; }
    std::string message(int ev) const override {
      switch (static_cast<ClientErrc>(ev)) {
        case ClientErrc::kRefused:
          return "stream refused by the upstream (not processed)";
        case ClientErrc::kReset:
          return "stream reset";
        case ClientErrc::kConnectionClosed:
          return "http2 connection closed";
        case ClientErrc::kProtocol:
          return "malformed http2 response";
        case ClientErrc::kNoExtendedConnect:
          return "the HTTP/2 server does not take WebSockets (no SETTINGS_ENABLE_CONNECT_PROTOCOL, "
                 "RFC 8441)";
      }
      return "unknown http2 client error";
    }
  };
  static const Category category;
  return category;
}

}  // namespace weft::http::http2
