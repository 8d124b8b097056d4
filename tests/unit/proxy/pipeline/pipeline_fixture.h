#pragma once

// RequestPipelineImpl behind the real HTTP/1.1 server codec: a client writes raw bytes into one
// end of a socket pair and reads what the proxy answers; the WorkerContext is built from
// config::Options and a mesh config decoded from YAML, as weft-proxy builds it.

#include <sys/socket.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "control/api/yaml_decoder.h"
#include "net/http/http1/server_codec.h"
#include "proxy/context/worker_context.h"
#include "proxy/pipeline/request_pipeline.h"
#include "tests/fuzz/http1_codec_harness.h"
#include "tests/unit/proxy/pipeline/loopback_app.h"
#include "tests/unit/proxy/router/route_test_util.h"

namespace weft::pipeline::pipelinetest {

inline router::RouteTableConstSharedPtr routeTable(const std::string& yaml) {
  return router::testing::tableFromYaml(yaml);
}

// What the client read: one HTTP/1.1 response with a content-length body.
struct Response {
  std::string head;  // through the blank line
  std::string body;
};

class PipelineFixture : public ::testing::Test {
 protected:
  PipelineFixture() {
    fuzz::quietLogs();
    options_.service = "web";
    options_.ns = "default";
  }
  ~PipelineFixture() override {
    ::shutdown(client_.peer(), SHUT_RDWR);
    if (server_) runUntil([&] { return server_done_; });
    if (ctx_) ctx_->pool.closeAll();
    io_.restart();
    io_.poll();
  }

  // Builds the worker and the pipeline for `direction` and starts serving the client's
  // connection, which arrived with `info`.
  void start(bool inbound, const std::string& yaml, http::DownstreamInfo info,
             std::shared_ptr<const identity::Credentials> credentials = nullptr) {
    ctx_.emplace(io_, options_, metrics_, routeTable(yaml), std::move(credentials));
    pipeline_.emplace(*ctx_, inbound);
    server_ = std::make_unique<http::http1::ServerConnectionImpl<TcpStream>>(
        client_.takeCodecSide(), std::move(info), *pipeline_, ctx_->http1, stats_);
    asio::co_spawn(io_, server_->run(), [this](std::exception_ptr) { server_done_ = true; });
  }

  void send(std::string_view bytes) {
    ASSERT_EQ(::send(client_.peer(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

  // Runs the worker until `until()` or 5 s, collecting what the proxy sends the client.
  template <typename Until>
  void runUntil(Until until) {
    testutil::runUntil(io_, [&] {
      char buffer[16384];
      for (;;) {
        const ssize_t n = ::recv(client_.peer(), buffer, sizeof(buffer), MSG_DONTWAIT);
        if (n <= 0) break;
        from_proxy_.append(buffer, static_cast<size_t>(n));
      }
      return until();
    });
  }

  // Runs until the client has one whole response (head and content-length body), and takes it.
  std::optional<Response> response() {
    std::optional<Response> out;
    runUntil([&] {
      const size_t end = from_proxy_.find("\r\n\r\n");
      if (end == std::string::npos) return false;
      const std::string head = from_proxy_.substr(0, end + 4);
      const size_t cl = head.find("content-length: ");
      const size_t length = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 16));
      if (from_proxy_.size() < head.size() + length) return false;
      out = Response{head, from_proxy_.substr(head.size(), length)};
      from_proxy_.erase(0, head.size() + length);
      return true;
    });
    EXPECT_TRUE(out) << "no whole response; got: " << from_proxy_;
    return out;
  }

  // The value of `metric{labels}` in the process registry's text exposition (-1: no such series).
  double metric(std::string_view series) const {
    const std::string text = metrics_.serialize();
    const std::string needle = std::string(series) + " ";
    const size_t at = text.find("\n" + needle);
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + 1 + needle.size()));
  }

  // Before io_: connections whose reader is still suspended on io_ end (and count their close
  // in metrics_) when io_ is destroyed.
  metrics::Metrics metrics_;
  config::Options options_;
  fuzz::Counters counters_;
  net::ConnectionStats stats_{counters_.tcp};
  asio::io_context io_;
  fuzz::SocketPair client_{io_};
  std::optional<WorkerContext> ctx_;
  std::optional<RequestPipelineImpl> pipeline_;
  std::unique_ptr<http::http1::ServerConnectionImpl<TcpStream>> server_;
  bool server_done_ = false;
  std::string from_proxy_;
};

}  // namespace weft::pipeline::pipelinetest
