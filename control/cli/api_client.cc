#include "control/cli/api_client.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "common/strings.h"
#include "net/asio.h"

namespace weft::control::cli {
namespace http = boost::beast::http;

ApiClient::ApiClient(api::HostPort address, std::string token, std::chrono::milliseconds timeout)
    : address_(std::move(address)),
      server_(weft::strCat(address_.host, ":", address_.port)),
      token_(std::move(token)),
      timeout_(timeout) {}

absl::StatusOr<ApiClient> ApiClient::create(std::string_view server, std::string token,
                                            std::chrono::milliseconds timeout) {
  std::string_view rest = server;
  if (rest.starts_with("https://")) {
    return absl::InvalidArgumentError(
        "--server: weft-control's API speaks plain HTTP on its --api port; use http://");
  }
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  while (rest.ends_with('/')) rest.remove_suffix(1);
  auto address = api::parseHostPort(rest);
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        weft::strCat("--server '", server, "': ", address.status().message()));
  }
  return ApiClient(std::move(*address), std::move(token), timeout);
}

absl::StatusOr<ApiResponse> ApiClient::call(std::string_view method, std::string_view path,
                                            std::string_view body, std::string_view content_type,
                                            std::string_view source) const {
  asio::io_context io;
  beast::tcp_stream stream(io);
  error_code ec;
  const tcp::endpoint endpoint(asio::ip::make_address(address_.host, ec), address_.port);
  std::string step = "connect";
  ApiResponse out;
  auto run = [&]() -> asio::awaitable<void> {
    stream.expires_after(timeout_);
    auto [cec] = co_await stream.async_connect(endpoint, asio::as_tuple(asio::use_awaitable));
    if ((ec = cec)) co_return;
    http::request<http::string_body> req(http::string_to_verb(std::string(method)),
                                         std::string(path), 11);
    req.set(http::field::host, server_);
    req.set(http::field::user_agent, "weftctl");
    req.set(http::field::accept, "application/json");
    if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
    if (!source.empty()) req.set("x-weft-source", source);
    if (!body.empty() || method == "POST") {
      req.set(http::field::content_type, content_type);
      req.body() = std::string(body);
    }
    req.prepare_payload();
    step = "send the request";
    auto [wec, written] =
        co_await http::async_write(stream, req, asio::as_tuple(asio::use_awaitable));
    if ((ec = wec)) co_return;
    step = "read the answer";
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    auto [rec, read] =
        co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if ((ec = rec)) co_return;
    out.status = parser.get().result_int();
    out.content_type = std::string(parser.get()[http::field::content_type]);
    out.body = std::move(parser.get().body());
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  };
  if (!ec) {
    asio::co_spawn(io, run(), asio::detached);
    io.run();
  }
  if (ec) {
    const std::string why = ec == beast::error::timeout
                                ? weft::strCat("no answer within ", timeout_.count(), "ms")
                                : ec.message();
    return absl::UnavailableError(
        weft::strCat("cannot reach weft-control at ", server_, ": ", step, ": ", why));
  }
  return out;
}

}  // namespace weft::control::cli
