#include "net/dial.h"

#include <openssl/ssl.h>

#include "common/strings.h"
#include "identity/alpn.h"
#include "identity/credentials.h"
#include "net/deadline.h"
#include "net/error_text.h"
#include "net/stream_io.h"

namespace weft::net {

awaitable<absl::StatusOr<TcpStream>> dialTcp(Executor executor, const tcp::endpoint& endpoint,
                                             std::chrono::steady_clock::duration timeout) {
  TcpStream stream(std::move(executor));
  error_code cec;
  {
    Deadline deadline(stream);
    deadline.arm(timeout);
    auto [connect_ec] = co_await stream.async_connect(endpoint, kUseTuple);
    cec = timedOut(deadline, connect_ec);
  }
  if (cec == beast::error::timeout) {
    co_return absl::UnavailableError(
        weft::strCat("connect timed out after ",
                     std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count(), "ms"));
  }
  if (cec) co_return absl::UnavailableError(weft::strCat("connect: ", cec.message()));
  error_code ec;
  stream.set_option(tcp::no_delay(true), ec);
  // The connect waited to write; the connection's reads should not wake for writability.
  if (error_code rec = io::dropWriteInterest(stream); rec) {
    co_return absl::UnavailableError(
        weft::strCat("connect: re-registering the socket: ", rec.message()));
  }
  co_return stream;
}

awaitable<absl::StatusOr<TlsStream>> handshakeMtls(TcpStream stream,
                                                   boost::asio::ssl::context& context,
                                                   std::string_view expected_identity,
                                                   MeshAlpn alpn,
                                                   std::chrono::steady_clock::duration timeout) {
  TlsStream tls(std::move(stream), context);
  if (alpn == MeshAlpn::kHttp) identity::offerAlpn(tls.native_handle());
  if (alpn == MeshAlpn::kOpaque) identity::offerOpaque(tls.native_handle());
  error_code hec;
  {
    Deadline deadline(beast::get_lowest_layer(tls));
    deadline.arm(timeout);
    auto [handshake_ec] = co_await tls.handshake(TlsStream::Role::kClient);
    hec = timedOut(deadline, handshake_ec);
  }
  if (hec == beast::error::timeout) co_return absl::UnavailableError("tls handshake timed out");
  if (hec) {
    co_return absl::UnavailableError(
        weft::strCat("tls handshake: ", tlsErrorText(hec, tls.native_handle())));
  }
  auto peer = identity::peerIdentity(tls.native_handle());
  if (!peer.ok()) {
    co_return absl::PermissionDeniedError(
        weft::strCat("peer identity: ", peer.status().message(), ", expected ", expected_identity));
  }
  if (*peer != expected_identity) {
    co_return absl::PermissionDeniedError(weft::strCat("peer identity mismatch: presented ", *peer,
                                                       ", expected ", expected_identity));
  }
  if (alpn == MeshAlpn::kOpaque && !identity::negotiatedOpaque(tls.native_handle())) {
    co_return absl::UnavailableError(weft::strCat(
        "peer ", *peer, " does not take opaque TCP (ALPN ", identity::kOpaqueProtocol, ")"));
  }
  co_return tls;
}

}  // namespace weft::net
