#pragma once

// The resources a proxy holds from the control plane's pushes, and the config built from them.
// An update is applied to a copy and decoded whole (the same decoder as a --config file): if
// anything is wrong the update is refused — the NACK's reason — and what was held stays. With a
// cache directory, every applied config is written there (0600, atomically) next to the cached
// certificate, so a proxy restarted while the control plane is down serves on its last good
// config.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/api/push_protocol.h"
#include "control/api/resources.h"

namespace weft::proxy::control {

class PushedConfig {
 public:
  // Applies `update`; the config it makes, or why it cannot be applied (including more than
  // `max_services` Services, when not 0).
  absl::StatusOr<api::MeshConfigConstSharedPtr> apply(const api::push::Update& update,
                                                      uint32_t max_services = 0);

  // The Services ("<ns>/<name>") whose endpoints are all that `update` changes, compared with
  // what is held; nullopt when it changes anything else (another kind, a removal, a Service not
  // held, any other field of one). Such an update needs no new route table: only the proxy's
  // destinations for those Services take their new endpoints.
  std::optional<std::vector<std::string>> endpointChanges(const api::push::Update& update) const;

  // What a hello says is held.
  std::map<std::string, std::string> held() const;
  const std::string& version() const { return version_; }
  bool empty() const { return version_.empty(); }

  // DIR/config.json. Writing failures are returned (the caller logs them; the config stays).
  absl::Status save(const std::string& dir) const;
  // The cached config, if DIR/config.json holds a valid one; NotFound when there is none.
  absl::StatusOr<api::MeshConfigConstSharedPtr> load(const std::string& dir);

 private:
  static absl::StatusOr<api::MeshConfigConstSharedPtr> build(
      const std::map<std::string, api::push::Resource>& resources, const std::string& version);

  std::map<std::string, api::push::Resource> resources_;
  std::string version_;
};

}  // namespace weft::proxy::control
