#pragma once

// What weft-control's JSON endpoints share: reading a bounded request body, answering with
// JSON, and turning a refusal into {"error": {"reason": …, "message": …}} with the HTTP status
// its code means.

#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "net/http/codec.h"

namespace weft::control {

// The whole request body; a refusal with reason body_too_large (413) past `limit` bytes (a
// declared Content-Length over it is refused before anything is read), or read_failed.
awaitable<absl::StatusOr<std::string>> readBody(http::ServerStream& stream, size_t limit);

// The body as a JSON object; a refusal with reason malformed_body otherwise.
absl::StatusOr<nlohmann::json> parseJsonObject(const std::string& body);

// doc[name] as a string, or `fallback` when it is absent; a refusal with reason invalid_field
// ("ttl: must be a string") when it is something else.
absl::StatusOr<std::string> stringField(const nlohmann::json& doc, std::string_view name,
                                        std::string fallback = {});

awaitable<void> replyJson(http::ServerStream& stream, unsigned status, const nlohmann::json& body,
                          const http::HeaderMap* headers = nullptr);
// 4xx/5xx from the status code; the reason from control/ca/refusal.h.
awaitable<void> replyRefusal(http::ServerStream& stream, const absl::Status& refusal);

unsigned httpStatusOf(absl::StatusCode code);

}  // namespace weft::control
