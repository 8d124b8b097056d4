#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "net/http/message.h"

namespace weft::http {

// gRPC status codes the proxy itself produces (grpc/doc/statuscodes.md).
inline constexpr unsigned kGrpcDeadlineExceeded = 4;
inline constexpr unsigned kGrpcPermissionDenied = 7;
inline constexpr unsigned kGrpcUnavailable = 14;

// Whether a request is a gRPC call: its content-type is application/grpc[+proto|;...].
bool isGrpcRequest(const RequestHead& request);

// grpc-message's encoding (gRPC over HTTP/2 spec): bytes outside printable ASCII, and '%',
// become %XX.
std::string percentEncodeGrpcMessage(std::string_view message);

// A grpc-timeout header value ("1S", "250m", "100u", at most 8 digits and a unit of H M S m u n),
// rounded up to whole milliseconds; nullopt if malformed (the header is then ignored).
std::optional<std::chrono::milliseconds> parseGrpcTimeout(std::string_view value);

// The gRPC status a proxy-generated failure with HTTP status `http_status` maps to: a timeout
// (504) is DEADLINE_EXCEEDED, a refusal by authorization (403) PERMISSION_DENIED, every other
// failure the proxy generates UNAVAILABLE.
unsigned grpcStatusForLocalReply(unsigned http_status);

// A proxy-generated failure as a gRPC caller expects it: HTTP 200, a "trailers-only" response
// (headers, no body) with grpc-status and grpc-message, plus x-weft-error with the same reason.
ResponseHead grpcLocalReply(unsigned http_status, std::string_view reason);

}  // namespace weft::http
