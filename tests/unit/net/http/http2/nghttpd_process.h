#pragma once

// Runs nghttpd (the nghttp2 project's HTTP/2 server, Debian package nghttp2-server) on a free
// loopback port for client tests: started by fork/exec, waited for with a bounded connect loop,
// stopped by its PID.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace weft::testutil {

inline std::string findNghttpd() {
  for (const char* path : {"/usr/sbin/nghttpd", "/usr/bin/nghttpd", "/usr/local/bin/nghttpd"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

// A loopback port nobody listens on right now (bound and released; a race only with other
// processes picking the same ephemeral port in between, which the start loop retries).
inline unsigned short freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

inline bool canConnect(unsigned short port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

class NghttpdProcess {
 public:
  // `args`: options before the port; `tls_files`: key and cert after it (empty for --no-tls).
  bool start(const std::string& binary, std::vector<std::string> args,
             std::vector<std::string> tls_files) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = freePort();
      std::vector<std::string> argv = {binary, "-a", "127.0.0.1"};
      argv.insert(argv.end(), args.begin(), args.end());
      argv.push_back(std::to_string(port_));
      argv.insert(argv.end(), tls_files.begin(), tls_files.end());
      pid_ = ::fork();
      if (pid_ == 0) {
        std::vector<char*> cargv;
        for (auto& a : argv) cargv.push_back(a.data());
        cargv.push_back(nullptr);
        ::execv(cargv[0], cargv.data());
        ::_exit(127);
      }
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (std::chrono::steady_clock::now() < until) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;  // exited (port taken?): try another
          break;
        }
        if (canConnect(port_)) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      stop();
    }
    return false;
  }

  // SIGTERM, then SIGKILL if it has not exited within two seconds.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) != pid_) {
      if (std::chrono::steady_clock::now() >= until) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
  }

  ~NghttpdProcess() { stop(); }
  unsigned short port() const { return port_; }

 private:
  pid_t pid_ = -1;
  unsigned short port_ = 0;
};

}  // namespace weft::testutil
