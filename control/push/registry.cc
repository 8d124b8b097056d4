#include "control/push/registry.h"

#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace weft::control::push {

using nlohmann::json;

absl::StatusOr<store::LeaseId> Registry::add(const Registration& r, store::Clock::time_point now) {
  auto lease = store_.grantLease(ttl_, now);
  if (!lease.ok()) return lease.status();
  const json value = {{"service", r.service},
                      {"namespace", r.ns},
                      {"address", r.address},
                      {"identity", r.identity},
                      {"labels", r.labels}};
  auto put = store_.put(weft::strCat(kRegistryPrefix, r.ns, "/", r.service, "/", r.address),
                        value.dump(), std::nullopt, *lease);
  if (!put.ok()) {
    (void)store_.revokeLease(*lease);
    return put.status();
  }
  return *lease;
}

absl::Status Registry::keepAlive(store::LeaseId lease, store::Clock::time_point now) {
  return store_.keepAlive(lease, now);
}

std::vector<Registration> Registry::list() const {
  std::vector<Registration> out;
  for (const store::KeyValue& kv : store_.list(kRegistryPrefix)) {
    const json v = json::parse(kv.value, nullptr, false);
    if (!v.is_object()) continue;
    Registration r{v.value("service", ""),
                   v.value("namespace", ""),
                   v.value("address", ""),
                   v.value("identity", ""),
                   {}};
    if (v.contains("labels") && v["labels"].is_object()) {
      for (const auto& [k, val] : v["labels"].items()) {
        if (val.is_string()) r.labels[k] = val.get<std::string>();
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace weft::control::push
