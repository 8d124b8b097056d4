#include "control/ca/holders.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace weft::control::ca {

void Holders::record(const std::string& key_id, Holding holding) {
  by_key_[key_id] = std::move(holding);
}

Holding* Holders::find(std::string_view identity, std::string_view serial) {
  for (auto& [key, holding] : by_key_) {
    if (holding.identity == identity && holding.serial == serial) return &holding;
  }
  return nullptr;
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

namespace {

int64_t seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::chrono::system_clock::time_point at(int64_t s) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(s));
}

}  // namespace

std::string Holders::toJson() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, h] : by_key_) {
    out[key] = {{"identity", h.identity},           {"serial", h.serial},
                {"issuer", h.issuer_fingerprint},   {"peer", h.peer},
                {"issuedAt", seconds(h.issued_at)}, {"notAfter", seconds(h.not_after)},
                {"bundleVersion", h.bundle_version}};
  }
  return out.dump();
}

void Holders::loadJson(std::string_view text) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object()) return;
  for (const auto& [key, h] : doc.items()) {
    if (!h.is_object() || !h.contains("identity") || !h.contains("notAfter")) continue;
    Holding holding;
    try {
      if (!h.at("identity").is_string() || !h.at("notAfter").is_number_integer()) continue;
      holding.identity = h.value("identity", "");
      holding.serial = h.value("serial", "");
      holding.issuer_fingerprint = h.value("issuer", "");
      holding.peer = h.value("peer", "");
      holding.issued_at = at(h.value("issuedAt", int64_t{0}));
      holding.not_after = at(h.value("notAfter", int64_t{0}));
      holding.bundle_version = h.value("bundleVersion", uint64_t{0});
    } catch (const nlohmann::json::exception&) {
      continue;  // a field of the wrong type: value() throws
    }
    by_key_[key] = std::move(holding);
  }
}

}  // namespace weft::control::ca
