#include "control/ca/holders.h"

#include <algorithm>

namespace weft::control::ca {

void Holders::record(const std::string& key_id, Holding holding) {
  by_key_[key_id] = std::move(holding);
}

std::vector<Holding> Holders::current(std::chrono::system_clock::time_point now) {
  std::erase_if(by_key_, [now](const auto& entry) { return entry.second.not_after <= now; });
  std::vector<Holding> out;
  out.reserve(by_key_.size());
  for (const auto& [key, holding] : by_key_) out.push_back(holding);
  std::sort(out.begin(), out.end(), [](const Holding& a, const Holding& b) {
    return a.identity != b.identity ? a.identity < b.identity : a.serial < b.serial;
  });
  return out;
}

}  // namespace weft::control::ca
