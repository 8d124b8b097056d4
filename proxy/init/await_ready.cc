#include "proxy/init/await_ready.h"

#include <chrono>
#include <iostream>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "common/strings.h"
#include "runtime/flags.h"
#include "runtime/process.h"

namespace weft::proxy::init {
namespace {

namespace http = boost::beast::http;

const char* const kUsage = R"(usage: weft-proxy await-ready [--admin HOST:PORT] [--timeout DURATION]

Waits until the proxy's GET /ready answers 200 (default admin 127.0.0.1:15020, timeout 120s).
)";

// One GET /ready, bounded by a second: its status, or 0 and why not.
unsigned probe(const api::HostPort& admin, std::string& why) {
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  boost::system::error_code ec;
  stream.expires_after(std::chrono::seconds(1));
  stream.connect({boost::asio::ip::make_address(admin.host, ec), admin.port}, ec);
  if (ec) {
    why = ec.message();
    return 0;
  }
  http::request<http::empty_body> req{http::verb::get, "/ready", 11};
  req.set(http::field::host, admin.host);
  http::write(stream, req, ec);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  if (!ec) http::read(stream, buffer, res, ec);
  if (ec) {
    why = ec.message();
    return 0;
  }
  why = res.body();
  return res.result_int();
}

}  // namespace

int runAwaitReady(int argc, char** argv) {
  api::HostPort admin{"127.0.0.1", 15020};
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
  const runtime::flags::Flag table[] = {
      {"--admin", runtime::flags::address(&admin)},
      {"--timeout", runtime::flags::duration(&timeout)},
  };
  if (auto st = runtime::flags::parse(argc, argv, table, kUsage); !st.ok()) {
    return runtime::commandLineExit("weft-proxy await-ready", st, kUsage);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string why;
  for (;;) {  // bounded by the deadline
    if (probe(admin, why) == 200) return 0;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::cerr << "weft-proxy await-ready: " << admin.host << ":" << admin.port
            << "/ready not ready after " << timeout.count() / 1000
            << "s: " << std::string(weft::trim(why)) << "\n";
  return 1;
}

}  // namespace weft::proxy::init
