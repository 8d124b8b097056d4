#include "proxy/pipeline/body_pump.h"

#include "net/error_text.h"
#include "net/log.h"
#include "net/spawn_guard.h"

namespace weft::pipeline {

std::shared_ptr<RequestBodyPump> RequestBodyPump::start(const Executor& executor,
                                                        http::ServerStream& downstream,
                                                        http::ClientStream& upstream) {
  auto pump = std::make_shared<RequestBodyPump>(downstream, upstream, executor);
  asio::co_spawn(executor, run(pump), SpawnGuard({"request body pump"}));
  return pump;
}

RequestBodyPump::RequestBodyPump(http::ServerStream& downstream, http::ClientStream& upstream,
                                 const Executor& executor)
    : downstream_(downstream),
      upstream_(upstream),
      finished_(executor),
      buffer_(new char[kChunk]) {}

awaitable<void> RequestBodyPump::run(std::shared_ptr<RequestBodyPump> self) {
  std::span<char> buffer(self->buffer_.get(), kChunk);
  for (;;) {
    http::BodyRead r = co_await self->downstream_.readRequestBody(buffer);
    if (self->stopping_) break;
    if (r.ec) {
      log::info("request body aborted by client: ", errorText(r.ec));
      self->client_gone_ = true;
      self->upstream_.abort();
      break;
    }
    if (auto ec = co_await self->upstream_.sendRequestBody(buffer.first(r.n), r.end); ec) {
      self->upstream_error_ = ec;
      break;
    }
    if (r.end || self->stopping_) break;
  }
  self->done_ = true;
  self->finished_.notify();
}

void RequestBodyPump::stop() {
  if (done_ || stopping_) return;
  stopping_ = true;
  downstream_.cancelRequestBody();
  upstream_.abort();  // a send waiting for flow control returns too
}

awaitable<void> RequestBodyPump::finish() {
  stop();
  while (!done_) co_await finished_.waitUntil(Signal::Clock::time_point::max());
}

}  // namespace weft::pipeline
