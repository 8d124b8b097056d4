#include "net/tls_stream.h"

#include <array>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "identity/alpn.h"
#include "identity/credentials.h"
#include "net/error_text.h"
#include "tests/unit/identity/test_certs.h"
#include "tests/unit/net/loopback.h"

namespace weft {
namespace {

constexpr char kTrustDomain[] = "cluster.local";

// Two workloads' credentials from one CA (and, for refusals, one from another CA), and a
// connected pair of TLS streams on 127.0.0.1 over one io_context.
class TlsStreamTest : public ::testing::Test {
 protected:
  TlsStreamTest() {
    dir_ = testutil::makeTempDir();
    auto ca_key = testutil::makeKey();
    auto ca = testutil::makeCert({"ca", {}, {}, true}, ca_key.get());
    auto other_key = testutil::makeKey();
    auto other_ca = testutil::makeCert({"other", {}, {}, true}, other_key.get());
    client_ = credentials("client", ca.get(), ca_key.get(), ca.get());
    server_ = credentials("server", ca.get(), ca_key.get(), ca.get());
    stranger_ = credentials("stranger", other_ca.get(), other_key.get(), other_ca.get());
  }

  std::shared_ptr<const identity::Credentials> credentials(const std::string& name, X509* ca,
                                                           EVP_PKEY* ca_key, X509* bundle) {
    auto key = testutil::makeKey();
    const std::string id = "spiffe://cluster.local/ns/default/sa/" + name;
    auto cert = testutil::makeCert({name, {id}, {}, false}, key.get(), ca, ca_key);
    const std::string base = dir_ + "/" + name;
    testutil::writeFile(base + ".pem", testutil::certPem(cert.get()));
    testutil::writeFile(base + "-key.pem", testutil::keyPem(key.get()));
    testutil::writeFile(base + "-ca.pem", testutil::certPem(bundle));
    auto creds = identity::Credentials::load({base + ".pem", base + "-key.pem", base + "-ca.pem"},
                                             kTrustDomain, id);
    EXPECT_TRUE(creds.ok()) << creds.status();
    return *creds;
  }

  // Connects a client stream (with `client_creds`) to a server stream and runs both handshakes.
  void connect(const identity::Credentials& client_creds) {
    Socket a(io_.get_executor()), b(io_.get_executor());
    testutil::connectLoopback(io_, a, b);
    client_stream_.emplace(std::move(a), client_creds.clientContext());
    server_stream_.emplace(std::move(b), server_->serverContext());
    static constexpr unsigned char kProtos[] = "\x02h2";
    SSL_set_alpn_protos(client_stream_->native_handle(), kProtos, sizeof(kProtos) - 1);
    auto task0 = [this]() -> awaitable<void> {
      auto [ec] = co_await client_stream_->handshake(TlsStream::Role::kClient);
      client_handshake_ = ec;
    };
    run(task0());
    auto task1 = [this]() -> awaitable<void> {
      auto [ec] = co_await server_stream_->handshake(TlsStream::Role::kServer);
      server_handshake_ = ec;
    };
    run(task1());
    io_.run();
    io_.restart();
  }

  // Starts `task` on io_. A coroutine lambda's captures live in its closure, not in the
  // coroutine frame: callers keep the closure (a named local) until io_ has run the task.
  void run(awaitable<void> task) { asio::co_spawn(io_, std::move(task), asio::detached); }

  std::string dir_;
  asio::io_context io_;
  std::shared_ptr<const identity::Credentials> client_, server_, stranger_;
  std::optional<TlsStream> client_stream_, server_stream_;
  error_code client_handshake_, server_handshake_;
};

using testutil::pattern;
using testutil::readAll;

TEST_F(TlsStreamTest, HandshakeVerifiesBothSidesAndNegotiatesAlpn) {
  connect(*client_);
  ASSERT_FALSE(client_handshake_) << client_handshake_.message();
  ASSERT_FALSE(server_handshake_) << server_handshake_.message();
  EXPECT_TRUE(identity::negotiatedHttp2(client_stream_->native_handle()));
  EXPECT_EQ(*identity::peerIdentity(server_stream_->native_handle()),
            "spiffe://cluster.local/ns/default/sa/client");
  EXPECT_EQ(*identity::peerIdentity(client_stream_->native_handle()),
            "spiffe://cluster.local/ns/default/sa/server");
}

TEST_F(TlsStreamTest, CarriesMegabytesBothWaysAtOnceAndEndsWithCloseNotifyAsEof) {
  connect(*client_);
  ASSERT_FALSE(client_handshake_);
  const std::string up = pattern(3 << 20, 'a');
  const std::string down = pattern(5 << 20, 'z');
  std::string got_up, got_down;
  error_code up_end, shutdown_ec = asio::error::would_block;
  bool up_written = false;
  // Both sides write everything before reading anything: only a stream whose reads and writes
  // proceed independently finishes (the socket buffers hold far less than a megabyte).
  auto task2 = [&]() -> awaitable<void> {
    auto [ec, n] = co_await client_stream_->writeAll(asio::buffer(up));
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(n, up.size());
    up_written = true;
  };
  run(task2());
  auto task3 = [&]() -> awaitable<void> {
    auto [ec, n] = co_await server_stream_->writeAll(asio::buffer(down));
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(n, down.size());
  };
  run(task3());
  // The client reads the whole download, then closes with close_notify and waits for the
  // server's; the server reads until the client's close_notify (eof) and answers it.
  auto task4 = [&]() -> awaitable<void> {
    std::array<char, 16384> buffer;
    while (got_down.size() < down.size()) {
      auto [ec, n] = co_await client_stream_->readSome(asio::buffer(buffer));
      got_down.append(buffer.data(), n);
      if (ec) co_return;
    }
    for (int i = 0; i < 100000 && !up_written; ++i) {
      co_await asio::post(io_.get_executor(), asio::use_awaitable_t<Executor>{});
    }
    auto [ec] = co_await client_stream_->shutdown();
    shutdown_ec = ec;
  };
  run(task4());
  auto task5 = [&]() -> awaitable<void> {
    co_await readAll(*server_stream_, got_up, up_end);
    auto [ec] = co_await server_stream_->shutdown();
    EXPECT_FALSE(ec) << ec.message();
  };
  run(task5());
  io_.run();
  EXPECT_EQ(got_up, up);
  EXPECT_EQ(got_down, down);
  EXPECT_EQ(up_end, asio::error::eof);
  EXPECT_FALSE(shutdown_ec) << shutdown_ec.message();
}

TEST_F(TlsStreamTest, TryWriteStopsAtAFullSocketAndWriteAllSendsThatPieceOnce) {
  connect(*client_);
  ASSERT_FALSE(client_handshake_);
  // Nobody reads yet: the socket fills within a few hundred KiB.
  std::string sent, piece;
  error_code ec;
  for (int i = 0; i < 1000 && !ec; ++i) {
    piece = pattern(64 * 1024, static_cast<char>('a' + i % 26));
    const size_t n = client_stream_->tryWrite(asio::buffer(piece), ec);
    if (!ec) {
      EXPECT_EQ(n, piece.size());
      sent += piece;
    } else {
      EXPECT_EQ(n, 0u);
    }
  }
  ASSERT_EQ(ec, asio::error::would_block) << ec.message();
  EXPECT_FALSE(sent.empty());
  // OpenSSL may have sent part of the piece that did not fit: writeAll, given the same bytes,
  // finishes it, and the peer gets every byte once, in order.
  std::string got;
  error_code end;
  auto finish = [&]() -> awaitable<void> {
    auto [wec, n] = co_await client_stream_->writeAll(asio::buffer(piece));
    EXPECT_FALSE(wec) << wec.message();
    EXPECT_EQ(n, piece.size());
    client_stream_->next_layer().close();
  };
  run(finish());
  run(readAll(*server_stream_, got, end));
  io_.run();
  EXPECT_EQ(got, sent + piece);
  // Once the socket is closed, a try says so.
  EXPECT_EQ(client_stream_->tryWrite(asio::buffer(piece), ec), 0u);
  EXPECT_TRUE(ec && ec != asio::error::would_block) << ec.message();
}

TEST_F(TlsStreamTest, WhatArrivesWhileNobodyReadsIsReadWithoutFurtherData) {
  connect(*client_);
  ASSERT_FALSE(client_handshake_);
  // The first read empties the socket; the second message arrives while no read is pending;
  // the next read (which waits on the socket first) must find it without anything further.
  std::array<char, 64> buffer;
  std::string got;
  auto exchange = [&]() -> awaitable<void> {
    co_await server_stream_->writeAll(asio::buffer(std::string_view("one")));
    auto [ec, n] = co_await client_stream_->readSome(asio::buffer(buffer));
    got.append(buffer.data(), n);
    co_await server_stream_->writeAll(asio::buffer(std::string_view("two")));
    asio::steady_timer pause(io_, std::chrono::milliseconds(20));
    co_await pause.async_wait(asio::use_awaitable_t<Executor>{});
    auto [ec2, n2] = co_await client_stream_->readSome(asio::buffer(buffer));
    got.append(buffer.data(), n2);
  };
  run(exchange());
  io_.run_for(std::chrono::seconds(5));
  EXPECT_EQ(got, "onetwo");
}

TEST_F(TlsStreamTest, GatheredBuffersArriveInOrder) {
  connect(*client_);
  ASSERT_FALSE(client_handshake_);
  const std::string head = "head;", body = pattern(20000, 'b'), tail = ";tail";
  std::string got;
  error_code end;
  auto task6 = [&]() -> awaitable<void> {
    // Small pieces go out as one record, large ones each on their own.
    std::array<asio::const_buffer, 3> small{asio::buffer(head), asio::buffer(tail),
                                            asio::buffer(head)};
    auto [ec, n] = co_await client_stream_->writeAll(small);
    EXPECT_EQ(n, 2 * head.size() + tail.size());
    std::array<asio::const_buffer, 3> large{asio::buffer(head), asio::buffer(body),
                                            asio::buffer(tail)};
    auto [ec2, n2] = co_await client_stream_->writeAll(large);
    EXPECT_EQ(n2, head.size() + body.size() + tail.size());
    client_stream_->next_layer().close();
  };
  run(task6());
  run(readAll(*server_stream_, got, end));
  io_.run();
  EXPECT_EQ(got, head + tail + head + head + body + tail);
  // Closed without close_notify: truncated, not a clean end.
  EXPECT_EQ(end, asio::ssl::error::stream_truncated);
}

TEST_F(TlsStreamTest, PeerFromAnotherCaIsRefusedAndBothSidesSayWhy) {
  // The stranger trusts only its own CA: it refuses the server's certificate and tells the
  // server so with an alert.
  connect(*stranger_);
  ASSERT_TRUE(client_handshake_);
  EXPECT_EQ(tlsErrorText(client_handshake_, client_stream_->native_handle()).substr(0, 27),
            "certificate verify failed (");
  ASSERT_TRUE(server_handshake_);
  EXPECT_EQ(errorText(server_handshake_), "tlsv1 alert unknown ca");
}

TEST_F(TlsStreamTest, CancelAndCloseEndAPendingReadWithOperationAborted) {
  connect(*client_);
  ASSERT_FALSE(client_handshake_);
  std::string got;
  // Starts a read that waits for data, then does `interrupt` to the socket under it.
  auto interrupted = [&](void (*interrupt)(Socket&)) {
    error_code end;
    run(readAll(*client_stream_, got, end));
    io_.poll();
    interrupt(client_stream_->next_layer());
    io_.run();
    io_.restart();
    return end;
  };
  EXPECT_EQ(interrupted([](Socket& s) { s.cancel(); }), asio::error::operation_aborted);
  EXPECT_EQ(interrupted([](Socket& s) { s.close(); }), asio::error::operation_aborted);
  // Once closed, the stream never touches a descriptor again (it may have been reused).
  EXPECT_EQ(interrupted([](Socket&) {}), asio::error::bad_descriptor);
  EXPECT_TRUE(got.empty());
}

}  // namespace
}  // namespace weft
