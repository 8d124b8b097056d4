#include "control/server/json_api.h"

#include <array>

#include "common/strings.h"
#include "control/ca/refusal.h"
#include "net/http/api_router.h"

namespace weft::control {

awaitable<absl::StatusOr<std::string>> readBody(http::ServerStream& stream, size_t limit) {
  const http::Body& framing = stream.request().body;
  if (!framing.present) co_return std::string();
  auto too_large = [limit] {
    return refuse(absl::StatusCode::kResourceExhausted, "body_too_large",
                  weft::strCat("request body over ", limit, " bytes"));
  };
  if (framing.length && *framing.length > limit) {
    stream.cancelRequestBody();
    co_return too_large();
  }
  std::string body;
  std::array<char, 16 * 1024> buffer;
  for (;;) {
    http::BodyRead r = co_await stream.readRequestBody(buffer);
    if (r.ec) {
      co_return refuse(absl::StatusCode::kInvalidArgument, "read_failed",
                       weft::strCat("cannot read the request body: ", r.ec.message()));
    }
    body.append(buffer.data(), r.n);
    if (body.size() > limit) {
      stream.cancelRequestBody();
      co_return too_large();
    }
    if (r.end) co_return body;
  }
}

absl::StatusOr<nlohmann::json> parseJsonObject(const std::string& body) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return refuse(absl::StatusCode::kInvalidArgument, "malformed_body",
                  "the request body is not a JSON object");
  }
  return doc;
}

absl::StatusOr<std::string> stringField(const nlohmann::json& doc, std::string_view name,
                                        std::string fallback) {
  auto it = doc.find(name);
  if (it == doc.end()) return fallback;
  if (!it->is_string()) {
    return refuse(absl::StatusCode::kInvalidArgument, "invalid_field",
                  weft::strCat(name, ": must be a string"));
  }
  return it->get<std::string>();
}

unsigned httpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 413;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

awaitable<void> replyJson(http::ServerStream& stream, unsigned status, const nlohmann::json& body,
                          const http::HeaderMap* headers) {
  const std::string text = body.dump(2) + "\n";
  co_await http::reply(stream, status, "application/json", text, headers);
}

awaitable<void> replyRefusal(http::ServerStream& stream, const absl::Status& refusal) {
  const nlohmann::json body = {
      {"error", {{"reason", reasonOf(refusal)}, {"message", weft::strCat(refusal.message())}}}};
  const unsigned status = httpStatusOf(refusal.code());
  co_await replyJson(stream, status, body);
}

}  // namespace weft::control
