#include "runtime/worker_inbox.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "common/strings.h"

namespace weft::runtime {

WorkerInbox::~WorkerInbox() { close(); }

absl::Status WorkerInbox::open() {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return absl::InternalError(weft::strCat("eventfd: ", std::strerror(errno)));
  error_code ec;
  descriptor_.assign(fd, ec);
  if (ec) {
    ::close(fd);
    return absl::InternalError(weft::strCat("eventfd: ", ec.message()));
  }
  return absl::OkStatus();
}

void WorkerInbox::post(std::function<void()> work) {
  {
    std::lock_guard lock(mutex_);
    queued_.push_back(std::move(work));
  }
  const uint64_t one = 1;
  // The counter only fails to grow when it is about to overflow: a wakeup is pending anyway.
  [[maybe_unused]] ssize_t n = ::write(descriptor_.native_handle(), &one, sizeof(one));
}

awaitable<void> WorkerInbox::run() {
  std::vector<std::function<void()>> batch;
  while (descriptor_.is_open()) {
    auto [ec] = co_await descriptor_.async_wait(Descriptor::wait_read, kUseTuple);
    if (ec || !descriptor_.is_open()) co_return;
    uint64_t count = 0;
    [[maybe_unused]] ssize_t n = ::read(descriptor_.native_handle(), &count, sizeof(count));
    {
      std::lock_guard lock(mutex_);
      batch.swap(queued_);
    }
    for (auto& work : batch) work();
    batch.clear();
  }
}

void WorkerInbox::close() {
  error_code ignored;
  descriptor_.close(ignored);
}

}  // namespace weft::runtime
