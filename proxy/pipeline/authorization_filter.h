#pragma once

#include <string>

#include "proxy/pipeline/request_filter.h"

namespace weft::pipeline {

// Inbound: the AuthorizationPolicies of the config in force that target this proxy's Service
// decide whether the caller (its verified SPIFFE ID) may make the request; a refusal is a 403
// with `x-weft-error: unauthorized: <caller> may not call <service> (<method> <path>)`.
class AuthorizationFilter final : public RequestFilter {
 public:
  AuthorizationFilter(std::string service, std::string ns)
      : service_(std::move(service)), ns_(std::move(ns)) {}

  absl::Status onRequest(const http::RequestHead& request, const http::DownstreamInfo& downstream,
                         const WorkerSnapshot& snapshot) override;

 private:
  std::string service_;
  std::string ns_;
};

}  // namespace weft::pipeline
