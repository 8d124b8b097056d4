#pragma once

#include <string>
#include <string_view>

#include "net/http/message.h"

namespace weft::http {

// A response the proxy generates itself: the status, `x-weft-error: <reason>`, and the reason
// again as a text/plain body (written to `body`, which must outlive sending the response).
inline ResponseHead localReply(unsigned status, std::string_view reason, std::string& body) {
  body.assign(reason);
  body.push_back('\n');
  ResponseHead head;
  head.status = status;
  head.headers.add(std::string(kErrorHeader), std::string(reason));
  head.headers.add("content-type", "text/plain");
  head.body = {true, body.size()};
  return head;
}

}  // namespace weft::http
