#include "net/tls_stream.h"

#include <sys/socket.h>

#include <cerrno>

#include <openssl/err.h>

#include "net/inline_budget.h"

namespace weft {

struct TlsStream::Core {
  Core(Socket s, SSL_CTX* context);
  ~Core() { SSL_free(ssl); }

  Socket socket;
  SSL* ssl = nullptr;
  BIO* bio = nullptr;     // owned by ssl
  int sys_errno = 0;      // of the last failed recv/send
  bool eof = false;       // recv returned 0
  bool drained = false;   // the last recv got less than it asked for: the socket had no more
  error_code read_error;  // a failure found after some bytes were read; the next read's result
  std::string coalesced;  // small buffers gathered into one record
};

namespace {

// The BIO between OpenSSL and the socket. It reads the descriptor from the socket on every call,
// so once the socket is closed (a deadline fired) OpenSSL gets EBADF, never another connection
// that reused the number.
TlsStream::Core* coreOf(BIO* bio) { return static_cast<TlsStream::Core*>(BIO_get_data(bio)); }

bool retryable(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

int bioRead(BIO* bio, char* out, int size) {
  BIO_clear_retry_flags(bio);
  TlsStream::Core* core = coreOf(bio);
  const int fd = core->socket.native_handle();
  ssize_t n = fd < 0 ? (errno = EBADF, -1) : ::recv(fd, out, static_cast<size_t>(size), 0);
  core->drained = n < size;
  if (n > 0) return static_cast<int>(n);
  if (n == 0) {
    core->eof = true;
    return 0;
  }
  if (retryable(errno)) {
    BIO_set_retry_read(bio);
  } else {
    core->sys_errno = errno;
  }
  return -1;
}

int bioWrite(BIO* bio, const char* in, int size) {
  BIO_clear_retry_flags(bio);
  TlsStream::Core* core = coreOf(bio);
  const int fd = core->socket.native_handle();
  ssize_t n =
      fd < 0 ? (errno = EBADF, -1) : ::send(fd, in, static_cast<size_t>(size), MSG_NOSIGNAL);
  if (n >= 0) return static_cast<int>(n);
  if (retryable(errno)) {
    BIO_set_retry_write(bio);
  } else {
    core->sys_errno = errno;
  }
  return -1;
}

long bioCtrl(BIO* bio, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;  // nothing is buffered here
    case BIO_CTRL_EOF:
      return coreOf(bio)->eof ? 1 : 0;
    default:
      return 0;
  }
}

BIO_METHOD* socketMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "weft socket");
    BIO_meth_set_read(m, &bioRead);
    BIO_meth_set_write(m, &bioWrite);
    BIO_meth_set_ctrl(m, &bioCtrl);
    return m;
  }();
  return method;
}

// What OpenSSL asks for after a call returned `ret` <= 0.
enum class Want { kRead, kWrite, kFailed };

Want wantOf(TlsStream::Core& core) {
  // The BIO's retry flag, not only SSL_want(): OpenSSL marks itself "reading" before a recv and
  // leaves it so when the recv fails for good.
  if (SSL_want_read(core.ssl) && BIO_should_read(core.bio)) return Want::kRead;
  if (SSL_want_write(core.ssl) && BIO_should_write(core.bio)) return Want::kWrite;
  return Want::kFailed;
}

// Waits until the socket can give OpenSSL what it asked for (kRead or kWrite).
auto readiness(TlsStream::Core& core, Want want) {
  return core.socket.async_wait(want == Want::kRead ? Socket::wait_read : Socket::wait_write,
                                kUseTuple);
}

// The error behind a failed call, as Asio's engine reports it; leaves the error queue empty.
error_code failureOf(TlsStream::Core& core, int ret) {
  error_code ec;
  const int err = SSL_get_error(core.ssl, ret);
  const unsigned long queued = ERR_get_error();
  if (err == SSL_ERROR_ZERO_RETURN) {
    ec = asio::error::eof;
  } else if (queued != 0 && ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    ec = asio::ssl::error::stream_truncated;
  } else if (queued != 0) {
    ec = error_code(static_cast<int>(queued), asio::error::get_ssl_category());
  } else if (core.sys_errno != 0) {
    ec = error_code(core.sys_errno, boost::system::system_category());
  } else {
    ec = asio::ssl::error::stream_truncated;  // the peer closed without close_notify
  }
  ERR_clear_error();
  return ec;
}

}  // namespace

TlsStream::Core::Core(Socket s, SSL_CTX* context) : socket(std::move(s)) {
  ssl = SSL_new(context);
  bio = BIO_new(socketMethod());
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl, bio, bio);
  // Read whatever has arrived in one recv, not a record header and then its body. Buffers are
  // released between records, as Asio does (identity::keepRecordBuffers undoes it).
  SSL_set_read_ahead(ssl, 1);
  SSL_set_mode(ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
}

TlsStream::TlsStream(Socket socket, asio::ssl::context& context)
    : core_(std::make_unique<Core>(std::move(socket), context.native_handle())) {}

TlsStream::TlsStream(const Executor& executor, asio::ssl::context& context)
    : TlsStream(Socket(executor), context) {}

TlsStream::TlsStream(TlsStream&&) noexcept = default;
TlsStream& TlsStream::operator=(TlsStream&&) noexcept = default;
TlsStream::~TlsStream() = default;

Socket& TlsStream::next_layer() { return core_->socket; }
SSL* TlsStream::native_handle() { return core_->ssl; }

awaitable<std::tuple<error_code>> TlsStream::handshake(Role role) {
  Core& core = *core_;
  error_code ec;
  core.socket.non_blocking(true, ec);
  if (ec) co_return std::tuple{ec};
  if (role == Role::kClient) {
    SSL_set_connect_state(core.ssl);
  } else {
    SSL_set_accept_state(core.ssl);
  }
  ERR_clear_error();  // whatever an earlier call left must not read as this handshake's failure
  for (;;) {
    const int ret = SSL_do_handshake(core.ssl);
    if (ret == 1) co_return std::tuple{error_code{}};
    const Want want = wantOf(core);
    if (want == Want::kFailed) co_return std::tuple{failureOf(core, ret)};
    auto [wec] = co_await readiness(core, want);
    if (wec) co_return std::tuple{wec};
  }
}

awaitable<std::tuple<error_code, size_t>> TlsStream::readSome(asio::mutable_buffer buffer) {
  Core& core = *core_;
  char* out = static_cast<char*>(buffer.data());
  size_t got = 0;
  bool waited = false;
  if (core.read_error) co_return std::tuple{core.read_error, size_t{0}};
  if (core.drained && !SSL_has_pending(core.ssl)) {
    // The last recv emptied the socket: more has rarely come since (the peer answers what we
    // have not sent yet). Waiting first saves a recv that would find nothing; the wait registers
    // with epoll either way, and reports data that did come at once.
    auto [wec] = co_await readiness(core, Want::kRead);
    if (wec) co_return std::tuple{wec, size_t{0}};
    waited = true;
  }
  while (got < buffer.size()) {
    size_t n = 0;
    const int ret = SSL_read_ex(core.ssl, out + got, buffer.size() - got, &n);
    if (ret == 1) {
      got += n;
      if (!SSL_has_pending(core.ssl)) break;  // no more without another recv: deliver these
      continue;
    }
    const Want want = wantOf(core);
    if (want == Want::kFailed) {
      core.read_error = failureOf(core, ret);
      if (got == 0) co_return std::tuple{core.read_error, size_t{0}};
      break;  // deliver what was read; the failure is the next read's result
    }
    if (got > 0) break;
    auto [wec] = co_await readiness(core, want);
    if (wec) co_return std::tuple{wec, size_t{0}};
    waited = true;
  }
  if (!waited && InlineBudget::spend()) co_await yieldToScheduler();
  co_return std::tuple{error_code{}, got};
}

awaitable<std::tuple<error_code, size_t>> TlsStream::writeAll(asio::const_buffer buffer) {
  error_code ec = co_await write(static_cast<const char*>(buffer.data()), buffer.size());
  co_return std::tuple{ec, ec ? size_t{0} : buffer.size()};
}

awaitable<std::tuple<error_code, size_t>> TlsStream::writeAll(
    std::span<const asio::const_buffer> buffers) {
  // Records are at most 16 KiB: pieces that fit in one go out together instead of one record
  // (and one send) each.
  static constexpr size_t kCoalesce = 16 * 1024;
  size_t total = 0;
  size_t pieces = 0;
  for (const auto& b : buffers) {
    total += b.size();
    if (b.size() != 0) ++pieces;
  }
  if (pieces > 1 && total <= kCoalesce) {
    std::string& joined = core_->coalesced;
    joined.clear();
    for (const auto& b : buffers) joined.append(static_cast<const char*>(b.data()), b.size());
    error_code ec = co_await write(joined.data(), joined.size());
    co_return std::tuple{ec, ec ? size_t{0} : total};
  }
  size_t written = 0;
  for (const auto& b : buffers) {
    if (b.size() == 0) continue;
    if (error_code ec = co_await write(static_cast<const char*>(b.data()), b.size()); ec) {
      co_return std::tuple{ec, written};
    }
    written += b.size();
  }
  co_return std::tuple{error_code{}, written};
}

// One SSL_write of all of `data` (without SSL_MODE_ENABLE_PARTIAL_WRITE OpenSSL writes every
// record before it reports success, resuming where it stopped when called again).
awaitable<error_code> TlsStream::write(const char* data, size_t size) {
  Core& core = *core_;
  bool waited = false;
  for (;;) {
    size_t n = 0;
    const int ret = SSL_write_ex(core.ssl, data, size, &n);
    if (ret == 1) {
      if (!waited && InlineBudget::spend()) co_await yieldToScheduler();
      co_return error_code{};
    }
    const Want want = wantOf(core);
    if (want == Want::kFailed) co_return failureOf(core, ret);
    auto [wec] = co_await readiness(core, want);
    if (wec) co_return wec;
    waited = true;
  }
}

size_t TlsStream::tryWrite(asio::const_buffer buffer, error_code& ec) {
  Core& core = *core_;
  size_t n = 0;
  const int ret = SSL_write_ex(core.ssl, buffer.data(), buffer.size(), &n);
  if (ret == 1) return buffer.size();
  ec = wantOf(core) == Want::kFailed ? failureOf(core, ret) : asio::error::would_block;
  return 0;
}

awaitable<std::tuple<error_code>> TlsStream::shutdown() {
  Core& core = *core_;
  bool sent = false;
  for (;;) {
    // 0: our close_notify is out, the peer's has not come; called again, it waits for it.
    const int ret = SSL_shutdown(core.ssl);
    if (ret == 1 || (ret == 0 && sent)) co_return std::tuple{error_code{}};
    if (ret == 0) {
      sent = true;
      continue;
    }
    const Want want = wantOf(core);
    if (want == Want::kFailed) co_return std::tuple{failureOf(core, ret)};
    auto [wec] = co_await readiness(core, want);
    if (wec) co_return std::tuple{wec};
  }
}

}  // namespace weft
