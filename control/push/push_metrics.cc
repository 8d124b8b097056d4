#include "control/push/push_metrics.h"

namespace weft::control::push {

PushMetrics::PushMetrics(prometheus::Registry& registry)
    : connected_(prometheus::BuildGauge()
                     .Name("control_connected_proxies")
                     .Help("Proxies with an open control stream.")
                     .Register(registry)
                     .Add({})),
      pushes_(prometheus::BuildCounter()
                  .Name("control_pushes_total")
                  .Help("Config updates sent to proxies.")
                  .Register(registry)
                  .Add({})),
      push_bytes_(prometheus::BuildCounter()
                      .Name("control_push_bytes_total")
                      .Help("Bytes of config updates sent to proxies.")
                      .Register(registry)
                      .Add({})),
      push_size_(prometheus::BuildHistogram()
                     .Name("control_push_size_bytes")
                     .Help("Size of one config update.")
                     .Register(registry)
                     .Add({}, prometheus::Histogram::BucketBoundaries{256, 1024, 4096, 16384, 65536,
                                                                      262144, 1048576, 4194304})),
      acks_(prometheus::BuildCounter()
                .Name("control_push_acks_total")
                .Help("Config updates proxies acknowledged as applied.")
                .Register(registry)
                .Add({})),
      nacks_(prometheus::BuildCounter()
                 .Name("control_push_nacks_total")
                 .Help("Config updates proxies refused (NACK); they keep their last good config.")
                 .Register(registry)
                 .Add({})),
      ack_latency_(
          prometheus::BuildHistogram()
              .Name("control_push_ack_seconds")
              .Help("From sending a config update to its ACK.")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025,
                                                               0.05, 0.1, 0.25, 0.5, 1, 2.5, 5})),
      cut_off_(prometheus::BuildCounter()
                   .Name("control_streams_cut_off_total")
                   .Help("Control streams ended by weft-control: a proxy that did not read its "
                         "stream or broke the protocol.")
                   .Register(registry)
                   .Add({})),
      by_status_(prometheus::BuildGauge()
                     .Name("control_proxies")
                     .Help("Connected proxies by config status: SYNCED (runs the current version), "
                           "STALE (an update is on its way), NACKED (refused the current one), "
                           "CONNECTING (no hello yet).")
                     .Register(registry)) {}

void PushMetrics::pushed(size_t bytes) {
  pushes_.Increment();
  push_bytes_.Increment(static_cast<double>(bytes));
  push_size_.Observe(static_cast<double>(bytes));
}

void PushMetrics::acked(std::chrono::steady_clock::duration push_to_ack) {
  acks_.Increment();
  ack_latency_.Observe(std::chrono::duration<double>(push_to_ack).count());
}

void PushMetrics::setStatusCounts(size_t synced, size_t stale, size_t nacked, size_t connecting) {
  by_status_.Add({{"status", "SYNCED"}}).Set(static_cast<double>(synced));
  by_status_.Add({{"status", "STALE"}}).Set(static_cast<double>(stale));
  by_status_.Add({{"status", "NACKED"}}).Set(static_cast<double>(nacked));
  by_status_.Add({{"status", "CONNECTING"}}).Set(static_cast<double>(connecting));
}

}  // namespace weft::control::push
