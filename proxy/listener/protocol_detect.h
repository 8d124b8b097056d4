#pragma once

#include <chrono>
#include <string_view>
#include <utility>

#include <boost/beast/core/flat_buffer.hpp>

#include "net/asio.h"

namespace weft::listener {

enum class Protocol {
  kHttp1,
  kHttp2,
  kNeedMore,
  kTls,     // a TLS ClientHello: the app speaks TLS itself
  kOpaque,  // anything else, or nothing within the detection timeout (a server-speaks-first
            // protocol): relayed as bytes
};

// What the first bytes of a plaintext connection say: the HTTP/2 client preface (prior
// knowledge, RFC 9113 §3.3), anything else (HTTP/1.1), or too few bytes to tell. A connection
// that starts with the preface's request line "PRI * HTTP/2.0\r\n" is HTTP/2 even if the rest of
// the preface is wrong: the HTTP/2 codec then ends it with GOAWAY(PROTOCOL_ERROR).
Protocol classifyPreface(std::string_view received);

// Reads the first bytes of a connection into `buffer` (one read, more only while what arrived
// is a strict prefix of the preface) within `timeout`, and classifies them. The bytes stay in
// `buffer` for the codec. An error (EOF, timeout) means the connection ended undecided.
awaitable<std::pair<error_code, Protocol>> detectProtocol(
    TcpStream& stream, beast::flat_buffer& buffer, std::chrono::steady_clock::duration timeout);

// What the first bytes of a connection that iptables redirected say, when the app could be
// speaking anything: the HTTP/2 preface, an HTTP/1.x request line (a method token of capital
// letters and a space), a TLS handshake record, something else (kOpaque), or too few bytes.
Protocol classifyIntercepted(std::string_view received);

struct Detection {
  error_code ec;  // the connection ended (or failed) before anything could be told
  Protocol protocol = Protocol::kOpaque;
  std::chrono::steady_clock::duration elapsed{};
};

// Reads the first bytes of a redirected connection into `buffer` until classifyIntercepted can
// tell. A client that sends nothing within `timeout` waits for the server to speak first: that
// is kOpaque, not an error, and the connection stays open; so are a few bytes and then a
// half-close. classifyIntercepted decides within 25 bytes.
awaitable<Detection> detectIntercepted(TcpStream& stream, beast::flat_buffer& buffer,
                                       std::chrono::steady_clock::duration timeout);

}  // namespace weft::listener
