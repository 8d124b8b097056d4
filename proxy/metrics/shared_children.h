#pragma once

#include <mutex>
#include <unordered_map>
#include <utility>

#include <prometheus/family.h>
#include <prometheus/labels.h>

namespace weft::metrics {

// Children of the process-wide families that several holders share (every worker's cache of a
// destination's series, every worker's state of a Service): counted, so that a child leaves its
// family — and /metrics — when the last holder lets it go. A destination dropped from the
// config thus stops being exported instead of staying forever. Thread-safe; used when a cache
// entry is made or dropped, never per request.
class SharedChildren {
 public:
  // family.Add(labels, args...) (the same child for the same labels), counted.
  template <typename T, typename... Args>
  T* acquire(prometheus::Family<T>& family, const prometheus::Labels& labels, Args&&... args) {
    std::lock_guard lock(mu_);
    T* child = &family.Add(labels, std::forward<Args>(args)...);
    ++refs_[child];
    return child;
  }

  // Undoes one acquire(); the last one removes the child from its family.
  template <typename T>
  void release(prometheus::Family<T>& family, T* child) {
    std::lock_guard lock(mu_);
    auto it = refs_.find(child);
    if (it == refs_.end() || --it->second > 0) return;
    refs_.erase(it);
    family.Remove(child);
  }

 private:
  std::mutex mu_;
  std::unordered_map<const void*, int> refs_;
};

}  // namespace weft::metrics
