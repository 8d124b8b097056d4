// ApiServer + ApiRouter on 127.0.0.1: exact and prefix routes, the query, the peer, HEAD, a
// handler that reads the request body, 404 naming the paths, 405 with Allow, and the shared
// codec's 400 for what it cannot parse. The server's io_context runs on its own thread; the
// client is a blocking socket.

#include "net/http/api_server.h"

#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weft::http {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class ApiServerTest : public ::testing::Test {
 protected:
  ApiServerTest() {
    router_
        .get("/hello",
             [](ApiRequest& r) -> awaitable<void> {
               const std::string text =
                   "hello " + std::string(r.query) + " from " + r.peer.address().to_string() + "\n";
               co_await reply(r.stream, 200, "text/plain", text);
             })
        .get("/items/*",
             [](ApiRequest& r) -> awaitable<void> {
               const std::string text = "item " + std::string(r.rest);
               co_await reply(r.stream, 200, "text/plain", text);
             })
        .route("POST", "/echo", [](ApiRequest& r) -> awaitable<void> {
          std::string body;
          char buffer[1024];
          for (;;) {
            BodyRead read = co_await r.stream.readRequestBody(std::span<char>(buffer));
            if (read.ec) co_return;
            body.append(buffer, read.n);
            if (read.end) break;
          }
          co_await reply(r.stream, 201, "application/octet-stream", body);
        });
    const absl::Status listening = server_.listen("127.0.0.1", 0);
    EXPECT_TRUE(listening.ok()) << listening;
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }

  ~ApiServerTest() override {
    asio::post(io_, [this] {
      server_.stop();
      io_.stop();
    });
    thread_.join();
  }

  // Sends `bytes` on a new connection and reads until the server closes it (or 5 s).
  std::string exchange(const std::string& bytes) {
    asio::io_context client_io;
    tcp::socket socket(client_io);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_.port()));
    const timeval timeout{5, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    asio::write(socket, asio::buffer(bytes));
    std::string out;
    char buffer[4096];
    error_code ec;
    while (!ec) {
      const size_t n = socket.read_some(asio::buffer(buffer), ec);
      out.append(buffer, n);
    }
    return out;
  }

  asio::io_context io_;
  ApiRouter router_{"test"};
  ApiServer server_{io_, "test", router_};
  std::thread thread_;
};

TEST_F(ApiServerTest, ExactRouteGetsTheQueryAndThePeer) {
  const std::string got =
      exchange("GET /hello?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(got, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(got, HasSubstr("content-length: 25\r\n"));
  EXPECT_THAT(got, HasSubstr("\r\n\r\nhello x=1 from 127.0.0.1\n"));
}

TEST_F(ApiServerTest, PrefixRouteGetsTheRestOfThePath) {
  const std::string got =
      exchange("GET /items/a/b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(got, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(got, HasSubstr("\r\n\r\nitem a/b"));
}

TEST_F(ApiServerTest, HeadGetsTheHeadOfAGetAndNoBody) {
  const std::string got = exchange("HEAD /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(got, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(got, HasSubstr("content-length: 22\r\n"));  // "hello  from 127.0.0.1\n"
  EXPECT_EQ(got.substr(got.find("\r\n\r\n") + 4), "");
}

TEST_F(ApiServerTest, HandlerReadsTheRequestBody) {
  const std::string got = exchange(
      "POST /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_THAT(got, StartsWith("HTTP/1.1 201 Created\r\n"));
  EXPECT_EQ(got.substr(got.find("\r\n\r\n") + 4), "hello world");
}

TEST_F(ApiServerTest, UnknownPathIs404NamingThePaths) {
  const std::string got = exchange("GET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(got, StartsWith("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_THAT(got, HasSubstr("no test endpoint /nope (have /hello /items/* /echo)\n"));
}

TEST_F(ApiServerTest, OtherMethodIs405WithAllow) {
  const std::string got = exchange("DELETE /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(got, StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(got, HasSubstr("allow: POST\r\n"));
  EXPECT_THAT(got, HasSubstr("test endpoint /echo takes POST, not DELETE\n"));
}

TEST_F(ApiServerTest, KeepAliveCarriesSeveralRequests) {
  const std::string got = exchange(
      "GET /items/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /items/2 HTTP/1.1\r\nHost: a\r\n"
      "Connection: close\r\n\r\n");
  EXPECT_THAT(got, HasSubstr("item 1HTTP/1.1 200 OK"));
  EXPECT_THAT(got, HasSubstr("item 2"));
}

TEST_F(ApiServerTest, GarbageGets400) {
  EXPECT_THAT(exchange("GARBAGE\r\n\r\n"), StartsWith("HTTP/1.1 400 Bad Request\r\n"));
}

TEST_F(ApiServerTest, ListenOnAnAddressInUseNamesIt) {
  ApiServer other(io_, "test", router_);
  const absl::Status st = other.listen("127.0.0.1", server_.port());
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("cannot listen on test address 127.0.0.1:"));
}

}  // namespace
}  // namespace weft::http
