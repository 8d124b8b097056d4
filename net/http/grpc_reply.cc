#include "net/http/grpc_reply.h"

#include "common/strings.h"

namespace weft::http {

bool isGrpcRequest(const RequestHead& request) {
  const std::string* type = request.headers.get("content-type");
  if (type == nullptr) return false;
  std::string_view t = *type;
  constexpr std::string_view kGrpc = "application/grpc";
  return weft::startsWithIgnoreCase(t, kGrpc) &&
         (t.size() == kGrpc.size() || t[kGrpc.size()] == '+' || t[kGrpc.size()] == ';');
}

std::string percentEncodeGrpcMessage(std::string_view message) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b <= 0x7e && b != '%') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xf]);
    }
  }
  return out;
}

std::optional<std::chrono::milliseconds> parseGrpcTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  uint64_t n = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  using std::chrono::ceil;
  using std::chrono::milliseconds;
  switch (value.back()) {
    case 'H':
      return milliseconds(n * 3'600'000);
    case 'M':
      return milliseconds(n * 60'000);
    case 'S':
      return milliseconds(n * 1000);
    case 'm':
      return milliseconds(n);
    case 'u':
      return ceil<milliseconds>(std::chrono::microseconds(n));
    case 'n':
      return ceil<milliseconds>(std::chrono::nanoseconds(n));
    default:
      return std::nullopt;
  }
}

unsigned grpcStatusForLocalReply(unsigned http_status) {
  switch (http_status) {
    case 504:
      return kGrpcDeadlineExceeded;
    case 403:
      return kGrpcPermissionDenied;
    default:
      return kGrpcUnavailable;
  }
}

ResponseHead grpcLocalReply(unsigned http_status, std::string_view reason) {
  ResponseHead head;
  head.status = 200;
  head.headers.add("content-type", "application/grpc");
  head.headers.add("grpc-status", weft::strCat(grpcStatusForLocalReply(http_status)));
  head.headers.add("grpc-message", percentEncodeGrpcMessage(reason));
  head.headers.add(std::string(kErrorHeader), std::string(reason));
  head.body = {false, std::nullopt};
  return head;
}

}  // namespace weft::http
