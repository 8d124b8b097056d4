#pragma once

// The process metrics every Prometheus client exports, under their usual names, for the
// per-proxy resources panels: process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds, process_start_time_seconds.
// Read from /proc/self at each scrape.

#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace weft::runtime {

class ProcessMetrics final : public prometheus::Collectable {
 public:
  ProcessMetrics();

  // prometheus::Collectable
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  double start_time_seconds_ = 0;
};

// `families` with the process's own appended: what a /metrics handler serializes.
std::vector<prometheus::MetricFamily> withProcessMetrics(
    std::vector<prometheus::MetricFamily> families);

}  // namespace weft::runtime
