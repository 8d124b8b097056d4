#include "control/server/control_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

#include "common/strings.h"
#include "net/log.h"

namespace weft::control {
namespace {

// Creates `dir` (0700) if missing; an existing one must be a directory we can write.
absl::Status prepareDataDir(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec)
      return absl::FailedPreconditionError(weft::strCat("--data-dir ", dir, ": ", ec.message()));
    ::chmod(dir.c_str(), 0700);
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(weft::strCat("--data-dir ", dir, ": not a directory"));
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    return absl::FailedPreconditionError(
        weft::strCat("--data-dir ", dir, ": not writable: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

ControlServer::ControlServer(Options options)
    : options_(std::move(options)), main_(options_.drain) {
  prometheus::BuildGauge()
      .Name("weft_control_info")
      .Help("weft-control is running; its trust domain as a label.")
      .Register(*registry_)
      .Add({{"trust_domain", options_.trust_domain}})
      .Set(1);
  http::addHealthRoutes(admin_router_, [this] { return ready_ && !main_.draining(); });
  admin_router_.get("/metrics", [this](http::ApiRequest& r) { return metrics(r); });
}

awaitable<void> ControlServer::metrics(http::ApiRequest& request) {
  const std::string text = prometheus::TextSerializer().Serialize(registry_->Collect());
  co_await http::reply(request.stream, 200, http::kPrometheusTextType, text);
}

absl::Status ControlServer::start() {
  if (absl::Status st = prepareDataDir(options_.data_dir); !st.ok()) return st;
  if (absl::Status st = admin_.listen(options_.admin.host, options_.admin.port); !st.ok()) {
    return st;
  }
  main_.start({.reload = {},
               .begin_drain = [this] { admin_.stop(); },
               .active = [] { return 0; },
               .drained = {}});
  ready_ = true;
  log::info("weft-control ready: trust_domain=", options_.trust_domain,
            " data_dir=", options_.data_dir, " admin=", options_.admin.host, ":", admin_.port());
  return absl::OkStatus();
}

int ControlServer::run() {
  main_.run();
  return 0;
}

}  // namespace weft::control
