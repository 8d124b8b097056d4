#pragma once

#include <cstddef>
#include <string>

#include "control/api/resources.h"

namespace weft::api {

// Writes a config as JSON piece by piece: exactly the text of
//   config.toJson().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"
// but one resource at a time, so a large config never exists whole as a JSON tree or string
// (the admin /config streams it in chunks). The writer pins the config it writes.
class ConfigJsonWriter {
 public:
  explicit ConfigJsonWriter(MeshConfigConstSharedPtr config);

  // Appends the next pieces to `out` until it holds at least `min_bytes` or the JSON is
  // complete. Returns false once everything has been written (then `out` holds the last piece,
  // possibly empty).
  bool next(std::string& out, size_t min_bytes);

 private:
  MeshConfigConstSharedPtr config_;
  size_t next_resource_ = 0;
  bool opened_ = false;
  bool closed_ = false;
};

}  // namespace weft::api
