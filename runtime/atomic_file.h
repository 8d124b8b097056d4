#pragma once

// Files that must survive a crash whole or not at all: a CA's keys, a token, a cached
// certificate. Written to a temporary name beside the target, fsync'd, renamed over it, and the
// directory fsync'd, so a reader (or a restart after kill -9) sees the old contents or the new,
// never a torn mix.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace weft::runtime {

// Writes `contents` to `path` with permissions `mode` (0600 for secrets: the file never exists
// with wider ones). Errors name the path and the step.
absl::Status writeFileAtomic(const std::string& path, std::string_view contents, unsigned mode);

// The whole file, refused past `max_bytes`. NotFound when it does not exist.
absl::StatusOr<std::string> readFile(const std::string& path, size_t max_bytes = 1 << 20);

// Creates `dir` (and its parents) with mode 0700 if missing; it must then be a writable
// directory.
absl::Status ensurePrivateDir(const std::string& dir);

}  // namespace weft::runtime
