#include "runtime/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "common/strings.h"

namespace weft::runtime {
namespace {

absl::Status fail(std::string_view step, const std::string& path) {
  return absl::FailedPreconditionError(
      weft::strCat("cannot ", step, " ", path, ": ", std::strerror(errno)));
}

std::string directoryOf(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

}  // namespace

absl::Status writeFileAtomic(const std::string& path, std::string_view contents, unsigned mode) {
  std::random_device random;
  const std::string tmp = weft::strCat(path, ".tmp.", ::getpid(), ".", random());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return fail("create", tmp);
  ::fchmod(fd, mode);  // exactly `mode`, whatever the umask
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status st = fail("write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return st;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    absl::Status st = fail("fsync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status st = fail("rename into place", path);
    ::unlink(tmp.c_str());
    return st;
  }
  const std::string dir = directoryOf(path);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> readFile(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(weft::strCat(path, ": no such file"));
    return fail("open", path);
  }
  std::string contents;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status st = fail("read", path);
      ::close(fd);
      return st;
    }
    if (n == 0) break;
    contents.append(buf, static_cast<size_t>(n));
    if (contents.size() > max_bytes) {
      ::close(fd);
      return absl::FailedPreconditionError(
          weft::strCat(path, ": larger than ", max_bytes, " bytes"));
    }
  }
  ::close(fd);
  return contents;
}

absl::Status ensurePrivateDir(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return absl::FailedPreconditionError(weft::strCat(dir, ": ", ec.message()));
    ::chmod(dir.c_str(), 0700);
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(weft::strCat(dir, ": not a directory"));
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    return absl::FailedPreconditionError(
        weft::strCat(dir, ": not writable: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace weft::runtime
