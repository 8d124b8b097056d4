#pragma once

#include <memory>
#include <vector>

#include "proxy/context/service_state.h"
#include "proxy/metrics/metrics.h"

namespace weft {

// What one config swap took out of a worker's tables because the new config no longer names it
// (a Service's resilience state, the metric cache entries of a destination), while requests
// pinning an older snapshot may still use it. The snapshot the swap replaced holds the bag, and
// each bag holds the bag of the swap after it: a bag, and the series its entries export, go once
// every snapshot from before its swap is gone. Only the owning worker thread touches it.
struct RetiredState {
  RetiredState() = default;
  RetiredState(const RetiredState&) = delete;
  RetiredState& operator=(const RetiredState&) = delete;
  // Frees the chain of newer bags iteratively (a request pinning a snapshot through thousands of
  // swaps must not cost thousands of nested destructor frames).
  ~RetiredState() {
    std::shared_ptr<RetiredState> next = std::move(newer);
    while (next && next.use_count() == 1) {
      std::shared_ptr<RetiredState> after = std::move(next->newer);
      next = std::move(after);
    }
  }

  std::vector<std::unique_ptr<ServiceState>> services;
  metrics::WorkerMetrics::Retired targets;
  std::shared_ptr<RetiredState> newer;  // retired by the next swap: lives at least as long
};

}  // namespace weft
