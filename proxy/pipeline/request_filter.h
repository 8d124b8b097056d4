#pragma once

// A stage of the request path between the codec and the router: it sees the request head and
// where it came from, and lets it on or refuses it with a local reply (the refusal's code picks
// the status: PermissionDenied is 403, a gRPC caller gets PERMISSION_DENIED). The pipeline runs
// the filters its direction has, in order; the inbound side has authorization.

#include "absl/status/status.h"
#include "net/http/codec.h"
#include "proxy/context/worker_context.h"

namespace weft::pipeline {

class RequestFilter {
 public:
  virtual ~RequestFilter() = default;
  virtual absl::Status onRequest(const http::RequestHead& request,
                                 const http::DownstreamInfo& downstream,
                                 const WorkerSnapshot& snapshot) = 0;
};

}  // namespace weft::pipeline
