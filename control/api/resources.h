#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace weft::api {

inline constexpr std::string_view kApiVersion = "weft.dev/v1alpha1";

using Labels = std::map<std::string, std::string>;

struct Endpoint {
  std::string address;  // "host:port" as written
  std::string host;     // IP literal
  uint16_t port = 0;
  std::string identity;  // SPIFFE ID the endpoint must present
  Labels labels;
};

// kind: Service — a named destination with its port and static endpoints.
struct Service {
  std::string name;
  std::string ns;
  uint16_t port = 0;
  std::vector<Endpoint> endpoints;
};

// One immutable, validated set of mesh resources: what a proxy runs on. It arrives from a file
// today and from the control plane's push later; either way it is built once and shared as
// shared_ptr<const MeshConfig>.
class MeshConfig {
 public:
  MeshConfig(std::vector<Service> services, std::string source, uint64_t version);

  const std::vector<Service>& services() const { return services_; }
  const std::string& source() const { return source_; }
  uint64_t version() const { return version_; }

  // The Service called `name` in namespace `ns`, or nullptr.
  const Service* findService(std::string_view name, std::string_view ns) const;

  nlohmann::json toJson() const;

 private:
  std::vector<Service> services_;
  std::unordered_map<std::string, size_t> by_key_;  // "<ns>/<name>" -> index
  std::string source_;
  uint64_t version_;
};

using MeshConfigConstSharedPtr = std::shared_ptr<const MeshConfig>;

}  // namespace weft::api
