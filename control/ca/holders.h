#pragma once

// Who holds which certificate: every unexpired leaf the CA has issued, one entry per workload
// key (a proxy keeps its key for its life, so its renewals replace its entry). `weftctl ca
// status` lists them; a trust rotation asks it which proxies still hold leaves of the old issuer.
// Main thread only.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace weft::control::ca {

struct Holding {
  std::string identity;
  std::string serial;
  std::string issuer_fingerprint;
  std::string peer;  // the address the request came from
  std::chrono::system_clock::time_point issued_at;
  std::chrono::system_clock::time_point not_after;
  // The trust bundle version the workload said it holds when it asked (0: it did not say).
  uint64_t bundle_version = 0;
};

class Holders {
 public:
  // `key_id`: a digest of the workload's public key.
  void record(const std::string& key_id, Holding holding);
  // Unexpired holdings, by identity then serial; expired ones are dropped.
  std::vector<Holding> current(std::chrono::system_clock::time_point now);
  // The holding of the certificate `identity` / `serial`, or null.
  Holding* find(std::string_view identity, std::string_view serial);

  // What survives a restart (DIR/ca/holders.json): a trust rotation must not forget who still
  // holds an old leaf. Entries that do not parse are skipped.
  std::string toJson() const;
  void loadJson(std::string_view text);

 private:
  std::map<std::string, Holding> by_key_;
};

}  // namespace weft::control::ca
