#pragma once

// A refusal the CA and the token checks give a caller: an absl::Status whose code picks the HTTP
// status and whose payload carries a short, stable reason ("token_expired", "weak_key") for the
// JSON error and the `reason` label of identity_csr_rejected_total. The message says the rest.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/cord.h"

namespace weft::control {

inline constexpr char kReasonPayload[] = "weft.dev/reason";

inline absl::Status refuse(absl::StatusCode code, std::string_view reason,
                           std::string_view message) {
  absl::Status st(code, absl::string_view(message.data(), message.size()));
  st.SetPayload(kReasonPayload, absl::Cord(absl::string_view(reason.data(), reason.size())));
  return st;
}

// The refusal's reason; "internal" for a status that carries none.
inline std::string reasonOf(const absl::Status& status) {
  auto payload = status.GetPayload(kReasonPayload);
  return payload ? std::string(*payload) : std::string("internal");
}

}  // namespace weft::control
