// The HTTP/2 server session driven by a real nghttp2 client session, in memory: frames go back
// and forth through receive()/produce(), handlers run on an io_context.
#include "net/http/http2/server_session.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "net/http/http2/settings.h"

namespace weft::http::http2 {
namespace {

using ::testing::Contains;
using ::testing::Pair;

// Echoes the request body; /fail returns without a response; /big answers with 3 MiB; /gated
// reads nothing until the test opens the gate.
class EchoHandler : public StreamHandler {
 public:
  explicit EchoHandler(const Executor& executor) : gate(executor) {}

  awaitable<void> handle(ServerStream& stream) override {
    RequestHead& req = stream.request();
    seen.push_back(req);
    if (req.path == "/fail") co_return;
    if (req.path == "/gated") co_await gate.waitUntil(Signal::Clock::time_point::max());
    std::string body;
    char buffer[16384];
    if (req.body.present) {
      for (;;) {
        std::span<char> into(buffer, sizeof(buffer));
        BodyRead r = co_await stream.readRequestBody(into);
        if (r.ec) co_return;
        body.append(buffer, r.n);
        if (r.end) break;
      }
    }
    if (req.path == "/big") body.assign(3 << 20, 'b');
    ResponseHead head;
    head.status = 200;
    head.headers.add("x-path", req.path);
    head.body = {true, body.size()};
    if (auto ec = co_await stream.sendResponseHead(head, false); ec) co_return;
    size_t off = 0;
    do {
      size_t n = std::min<size_t>(16384, body.size() - off);
      bool end = off + n == body.size();
      std::span<const char> piece(body.data() + off, n);
      if (auto ec = co_await stream.sendResponseBody(piece, end); ec) co_return;
      off += n;
      sent += n;
    } while (off < body.size());
  }

  std::vector<RequestHead> seen;
  size_t sent = 0;  // response bytes sendResponseBody has taken
  Signal gate;
};

struct ClientStream {
  std::map<std::string, std::string> headers;
  std::string body;
  std::string upload;
  size_t upload_pos = 0;
  bool closed = false;
  uint32_t error = 0;
};

class ServerSessionTest : public ::testing::Test, public SessionListener {
 protected:
  ServerSessionTest()
      : handler_(io_.get_executor()),
        server_(io_.get_executor(), DownstreamInfo{}, handler_, settings_, *this) {
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                const uint8_t* value, size_t valuelen, uint8_t, void* self) {
          static_cast<ServerSessionTest*>(self)->streams_[frame->hd.stream_id].headers.emplace(
              std::string(reinterpret_cast<const char*>(name), namelen),
              std::string(reinterpret_cast<const char*>(value), valuelen));
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cbs,
        [](nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len, void* self) {
          auto* test = static_cast<ServerSessionTest*>(self);
          test->streams_[id].body.append(reinterpret_cast<const char*>(data), len);
          if (test->client_reads_) {
            nghttp2_session_consume(test->client_, id, len);
          } else {
            test->client_unread_[id] += len;
          }
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(
        cbs, [](nghttp2_session*, int32_t id, uint32_t error, void* self) {
          auto& s = static_cast<ServerSessionTest*>(self)->streams_[id];
          s.closed = true;
          s.error = error;
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* frame, void* self) {
          if (frame->hd.type == NGHTTP2_GOAWAY)
            static_cast<ServerSessionTest*>(self)->goaway_ = true;
          return 0;
        });
    // The client acknowledges response DATA itself, so a test can play a slow reader.
    nghttp2_option* option = nullptr;
    nghttp2_option_new(&option);
    nghttp2_option_set_no_auto_window_update(option, 1);
    nghttp2_session_client_new2(&client_, cbs, this, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(client_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~ServerSessionTest() override {
    server_.abort();
    io_.restart();
    io_.run();
    nghttp2_session_del(client_);
  }

  void onIdle() override { ++idle_; }

  int32_t request(std::vector<std::pair<std::string, std::string>> fields, std::string upload = "",
                  bool with_body = false) {
    std::vector<nghttp2_nv> nva;
    for (auto& [n, v] : fields) {
      nva.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                     n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    nghttp2_data_provider provider;
    provider.source.ptr = nullptr;
    provider.read_callback = [](nghttp2_session*, int32_t id, uint8_t* buf, size_t length,
                                uint32_t* flags, nghttp2_data_source*, void* self) -> ssize_t {
      auto& s = static_cast<ServerSessionTest*>(self)->streams_[id];
      size_t n = std::min(length, s.upload.size() - s.upload_pos);
      std::copy_n(s.upload.data() + s.upload_pos, n, buf);
      s.upload_pos += n;
      if (s.upload_pos == s.upload.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    };
    int32_t id = nghttp2_submit_request(client_, nullptr, nva.data(), nva.size(),
                                        with_body ? &provider : nullptr, nullptr);
    streams_[id].upload = std::move(upload);
    return id;
  }

  static std::vector<std::pair<std::string, std::string>> get(std::string path) {
    return {{":method", "GET"}, {":scheme", "http"}, {":authority", "backend"}, {":path", path}};
  }

  // Moves frames both ways and runs handlers until nothing moves.
  void pump() {
    for (int i = 0; i < 100000; ++i) {
      bool progress = false;
      for (;;) {
        const uint8_t* data = nullptr;
        ssize_t n = nghttp2_session_mem_send(client_, &data);
        if (n <= 0) break;
        progress = true;
        server_.receive(data, static_cast<size_t>(n));
      }
      io_.restart();
      if (io_.poll() > 0) progress = true;
      std::string out;
      server_.produce(out, 1 << 30);
      if (!out.empty()) {
        progress = true;
        nghttp2_session_mem_recv(client_, reinterpret_cast<const uint8_t*>(out.data()), out.size());
      }
      if (!progress) return;
    }
    FAIL() << "no quiescence";
  }

  static Settings smallHeaderLimit() {
    Settings settings;
    settings.max_header_bytes = 4096;
    return settings;
  }

  asio::io_context io_;
  Settings settings_ = smallHeaderLimit();
  EchoHandler handler_;
  ServerSession server_;
  nghttp2_session* client_ = nullptr;
  std::map<int32_t, ClientStream> streams_;
  int idle_ = 0;
  bool goaway_ = false;
  bool client_reads_ = true;
  std::map<int32_t, size_t> client_unread_;
};

TEST_F(ServerSessionTest, GetIsHandedToTheHandler) {
  int32_t id = request(get("/hello?x=1"));
  pump();
  ASSERT_EQ(handler_.seen.size(), 1u);
  EXPECT_EQ(handler_.seen[0].method, "GET");
  EXPECT_EQ(handler_.seen[0].authority, "backend");
  EXPECT_EQ(handler_.seen[0].path, "/hello?x=1");
  EXPECT_FALSE(handler_.seen[0].body.present);
  const ClientStream& s = streams_[id];
  EXPECT_TRUE(s.closed);
  EXPECT_EQ(s.error, NGHTTP2_NO_ERROR);
  EXPECT_THAT(s.headers, Contains(Pair(":status", "200")));
  EXPECT_THAT(s.headers, Contains(Pair("x-path", "/hello?x=1")));
  EXPECT_EQ(server_.openStreams(), 0u);
  EXPECT_GE(idle_, 1);
}

TEST_F(ServerSessionTest, ConcurrentUploadsLargerThanTheWindowsAreEchoed) {
  std::vector<int32_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto fields = get("/echo");
    fields[0].second = "POST";
    std::string upload(3 << 20, static_cast<char>('a' + i));
    ids.push_back(request(fields, upload, true));
  }
  pump();
  ASSERT_EQ(handler_.seen.size(), 5u);
  for (size_t i = 0; i < ids.size(); ++i) {
    const ClientStream& s = streams_[ids[i]];
    EXPECT_TRUE(s.closed);
    EXPECT_EQ(s.error, NGHTTP2_NO_ERROR);
    EXPECT_EQ(s.body.size(), 3u << 20);
    EXPECT_EQ(s.body, std::string(3 << 20, static_cast<char>('a' + i)));
  }
}

TEST_F(ServerSessionTest, LargeResponseWaitsForTheClientWindow) {
  int32_t id = request(get("/big"));
  pump();
  EXPECT_TRUE(streams_[id].closed);
  EXPECT_EQ(streams_[id].body.size(), 3u << 20);
}

TEST_F(ServerSessionTest, SlowReaderHoldsTheHandlerBack) {
  client_reads_ = false;  // the client's windows (64 KiB) never reopen
  int32_t id = request(get("/big"));
  pump();
  EXPECT_FALSE(streams_[id].closed);
  EXPECT_EQ(streams_[id].body.size(), 65535u);
  // Beyond what the client took, the proxy holds at most the queue bound plus one piece.
  EXPECT_LE(handler_.sent, 65535u + kMaxQueuedResponseBytes + 16384u);
  EXPECT_GE(handler_.sent, kMaxQueuedResponseBytes);
  // The client starts reading: the rest flows.
  client_reads_ = true;
  nghttp2_session_consume(client_, id, client_unread_[id]);
  pump();
  EXPECT_TRUE(streams_[id].closed);
  EXPECT_EQ(streams_[id].body.size(), 3u << 20);
}

TEST_F(ServerSessionTest, FastUploaderIsHeldBackByTheStreamWindow) {
  auto fields = get("/gated");
  fields[0].second = "POST";
  std::string upload(3 << 20, 'u');
  int32_t id = request(fields, upload, true);
  pump();
  ASSERT_EQ(handler_.seen.size(), 1u);
  // Nothing read yet: the client may send no more than the stream window.
  EXPECT_EQ(streams_[id].upload_pos, static_cast<size_t>(kStreamWindow));
  handler_.gate.notify();
  pump();
  EXPECT_TRUE(streams_[id].closed);
  EXPECT_EQ(streams_[id].body, upload);
}

TEST_F(ServerSessionTest, HandlerWithoutResponseResetsTheStream) {
  int32_t id = request(get("/fail"));
  pump();
  EXPECT_TRUE(streams_[id].closed);
  EXPECT_EQ(streams_[id].error, NGHTTP2_INTERNAL_ERROR);
  EXPECT_EQ(server_.openStreams(), 0u);
}

TEST_F(ServerSessionTest, ConnectGets405OnItsStream) {
  int32_t id = request({{":method", "CONNECT"}, {":authority", "backend:443"}});
  pump();
  EXPECT_TRUE(handler_.seen.empty());
  EXPECT_THAT(streams_[id].headers, Contains(Pair(":status", "405")));
  EXPECT_THAT(streams_[id].headers, Contains(Pair("x-weft-error", "CONNECT is not supported")));
  EXPECT_EQ(streams_[id].body, "CONNECT is not supported\n");
  EXPECT_EQ(server_.openStreams(), 0u);
}

TEST_F(ServerSessionTest, HeaderListOverTheLimitGets431) {
  auto fields = get("/");
  fields.emplace_back("x-big", std::string(5000, 'x'));
  int32_t id = request(fields);
  pump();
  EXPECT_TRUE(handler_.seen.empty());
  EXPECT_THAT(streams_[id].headers, Contains(Pair(":status", "431")));
  EXPECT_THAT(streams_[id].headers,
              Contains(Pair("x-weft-error", "request header larger than 4096 bytes")));
}

TEST_F(ServerSessionTest, MissingAuthorityIsAProtocolError) {
  int32_t id = request({{":method", "GET"}, {":scheme", "http"}, {":path", "/"}});
  pump();
  EXPECT_TRUE(handler_.seen.empty());
  EXPECT_EQ(streams_[id].error, NGHTTP2_PROTOCOL_ERROR);
}

TEST_F(ServerSessionTest, ConnectionSpecificHeaderIsAProtocolError) {
  auto fields = get("/");
  fields.emplace_back("connection", "keep-alive");
  int32_t id = request(fields);
  pump();
  EXPECT_TRUE(handler_.seen.empty());
  EXPECT_TRUE(streams_[id].closed);
  EXPECT_EQ(streams_[id].error, NGHTTP2_PROTOCOL_ERROR);
}

TEST_F(ServerSessionTest, GarbageIsAConnectionErrorWithGoaway) {
  pump();
  const std::string garbage = "this is not an HTTP/2 frame at all";
  server_.receive(reinterpret_cast<const uint8_t*>(garbage.data()), garbage.size());
  std::string out;
  server_.produce(out, 1 << 20);
  nghttp2_session_mem_recv(client_, reinterpret_cast<const uint8_t*>(out.data()), out.size());
  EXPECT_TRUE(goaway_);
  EXPECT_TRUE(server_.finished());
}

TEST_F(ServerSessionTest, ClientResetFailsThePendingRead) {
  // HEADERS without END_STREAM: the handler waits for body bytes that never come.
  auto fields = get("/echo");
  fields[0].second = "POST";
  std::vector<nghttp2_nv> nva;
  for (auto& [n, v] : fields) {
    nva.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                   n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
  }
  int32_t id = nghttp2_submit_headers(client_, NGHTTP2_FLAG_NONE, -1, nullptr, nva.data(),
                                      nva.size(), nullptr);
  pump();
  ASSERT_EQ(handler_.seen.size(), 1u);
  EXPECT_EQ(server_.openStreams(), 1u);
  nghttp2_submit_rst_stream(client_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  pump();
  EXPECT_EQ(server_.openStreams(), 0u);
  EXPECT_TRUE(streams_[id].headers.empty());
}

// Raw client frames, for what a well-behaved nghttp2 client will not send.
std::string rawFrame(uint8_t type, uint8_t flags, int32_t stream, std::string_view payload) {
  std::string out;
  const auto n = static_cast<uint32_t>(payload.size());
  for (int shift : {16, 8, 0}) out += static_cast<char>(n >> shift);
  out += static_cast<char>(type);
  out += static_cast<char>(flags);
  for (int shift : {24, 16, 8, 0}) out += static_cast<char>(stream >> shift);
  out.append(payload);
  return out;
}

// A GET's HEADERS (END_STREAM, END_HEADERS), its fields as HPACK literals without indexing.
std::string rawGet(int32_t stream) {
  std::string block;
  for (auto [n, v] : {std::pair<std::string, std::string>{":method", "GET"},
                      {":scheme", "http"},
                      {":authority", "backend"},
                      {":path", "/r"}}) {
    block += '\0';
    block += static_cast<char>(n.size());
    block += n;
    block += static_cast<char>(v.size());
    block += v;
  }
  return rawFrame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM | NGHTTP2_FLAG_END_HEADERS, stream,
                  block);
}

std::string rawReset(int32_t stream) {
  return rawFrame(NGHTTP2_RST_STREAM, 0, stream, std::string("\0\0\0\x08", 4));  // CANCEL
}

std::string rawPreface() {
  return std::string(kClientPreface, kClientPrefaceSize) + rawFrame(NGHTTP2_SETTINGS, 0, 0, "");
}

// The GOAWAY's error code when `out` ends with a GOAWAY frame, else -1.
int64_t goawayCode(const std::string& out) {
  if (out.size() < 17 || out[out.size() - 17 + 3] != NGHTTP2_GOAWAY) return -1;
  const auto* p = reinterpret_cast<const uint8_t*>(out.data() + out.size() - 4);
  return (int64_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
}

// Rapid reset (CVE-2023-44487): a request the client resets in the same read as its HEADERS
// never reaches the handler (which would open an upstream connection and take a breaker slot).
TEST_F(ServerSessionTest, RequestResetInTheSameReadNeverReachesTheHandler) {
  ServerSession server(io_.get_executor(), DownstreamInfo{}, handler_, settings_, *this);
  std::string in = rawPreface();
  for (int32_t id = 1; id < 20; id += 2) in += rawGet(id) + rawReset(id);
  EXPECT_TRUE(server.receive(reinterpret_cast<const uint8_t*>(in.data()), in.size()));
  io_.restart();
  io_.poll();
  EXPECT_TRUE(handler_.seen.empty());
  EXPECT_EQ(server.openStreams(), 0u);
  // The connection still serves.
  const std::string next = rawGet(21);
  EXPECT_TRUE(server.receive(reinterpret_cast<const uint8_t*>(next.data()), next.size()));
  io_.restart();
  io_.poll();
  EXPECT_EQ(handler_.seen.size(), 1u);
  std::string out;
  server.produce(out, 1 << 20);
  EXPECT_EQ(goawayCode(out), -1);
  server.abort();
  io_.restart();
  io_.poll();
}

using ServerSessionBudgetTest = ServerSessionTest;
constexpr uint32_t kResetBudget = AbuseLimits{}.max_premature_resets;

TEST_F(ServerSessionBudgetTest, PrematureResetsOverTheBudgetEndTheConnection) {
  ServerSession server(io_.get_executor(), DownstreamInfo{}, handler_, settings_, *this);
  std::string in = rawPreface();
  for (uint32_t i = 0; i < kResetBudget; ++i) {
    in += rawGet(static_cast<int32_t>(2 * i + 1)) + rawReset(static_cast<int32_t>(2 * i + 1));
  }
  EXPECT_TRUE(server.receive(reinterpret_cast<const uint8_t*>(in.data()), in.size()));
  const auto last = static_cast<int32_t>(2 * kResetBudget + 1);
  in = rawGet(last) + rawReset(last);
  EXPECT_FALSE(server.receive(reinterpret_cast<const uint8_t*>(in.data()), in.size()));
  std::string out;
  server.produce(out, 1 << 20);
  EXPECT_EQ(goawayCode(out), NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_TRUE(handler_.seen.empty());
  server.abort();
  io_.restart();
  io_.poll();
}

TEST_F(ServerSessionBudgetTest, ResetsAmongManyCompletedRequestsAreWithinTheBudget) {
  pump();
  // A third of 4 × the budget: more resets than the budget, fewer than half the streams.
  for (uint32_t i = 0; i < 4 * kResetBudget; ++i) {
    int32_t id = request(get("/r"));
    if (i % 3 == 0) nghttp2_submit_rst_stream(client_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    pump();
  }
  EXPECT_FALSE(goaway_);
  EXPECT_FALSE(server_.finished());
}

TEST_F(ServerSessionBudgetTest, SettingsFloodEndsTheConnection) {
  settings_.max_control_frames = 50;
  ServerSession server(io_.get_executor(), DownstreamInfo{}, handler_, settings_, *this);
  std::string in = rawPreface();
  for (int i = 0; i < 60; ++i) in += rawFrame(NGHTTP2_SETTINGS, 0, 0, "");
  EXPECT_FALSE(server.receive(reinterpret_cast<const uint8_t*>(in.data()), in.size()));
  std::string out;
  server.produce(out, 1 << 20);
  EXPECT_EQ(goawayCode(out), NGHTTP2_ENHANCE_YOUR_CALM);
  server.abort();
}

// Takes the frames the session has ready when it asks for a flush, as the connection's socket
// half does, and notes how many requests the handler had seen by then.
struct RecordingFlusher : FrameFlusher {
  RecordingFlusher(ServerSession& session, const EchoHandler& handler)
      : session(session), handler(handler) {}
  void flushFrames() override {
    seen_at_flush.push_back(handler.seen.size());
    session.produce(out, 1 << 30);
  }
  ServerSession& session;
  const EchoHandler& handler;
  std::vector<size_t> seen_at_flush;
  std::string out;
};

class ServerSessionFlushTest : public ServerSessionTest {
 protected:
  // kFlushAfterMessages + 1 GETs, all in one piece of input.
  std::string burst() {
    for (unsigned i = 0; i <= kFlushAfterMessages; ++i) {
      ids_.push_back(request(get("/r" + std::to_string(i))));
    }
    return clientOutput();
  }

  // What the client session has ready to send.
  std::string clientOutput() {
    std::string in;
    const uint8_t* data = nullptr;
    for (ssize_t n; (n = nghttp2_session_mem_send(client_, &data)) > 0;) {
      in.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    return in;
  }

  // Feeds what the flusher took to the client: the streams it completed.
  size_t completedByFlush() {
    const std::string& out = flusher_.out;
    nghttp2_session_mem_recv(client_, reinterpret_cast<const uint8_t*>(out.data()), out.size());
    return static_cast<size_t>(
        std::count_if(ids_.begin(), ids_.end(), [&](int32_t id) { return streams_[id].closed; }));
  }

  RecordingFlusher flusher_{server_, handler_};
  std::vector<int32_t> ids_;
};

TEST_F(ServerSessionFlushTest, EverySixteenthResponseIsWrittenWithoutWaitingForTheWriter) {
  server_.setFlusher(&flusher_);
  const std::string in = burst();
  server_.receive(reinterpret_cast<const uint8_t*>(in.data()), in.size());
  io_.restart();
  io_.poll();  // the handlers answer, one after another
  // The 16th response is flushed with the 15 before it; the 17th waits for the writer.
  ASSERT_EQ(flusher_.seen_at_flush, std::vector<size_t>{kFlushAfterMessages});
  EXPECT_EQ(completedByFlush(), kFlushAfterMessages);
  server_.setFlusher(nullptr);
  pump();
  EXPECT_TRUE(streams_[ids_.back()].closed);
}

TEST_F(ServerSessionFlushTest, AResponseAloneOnTheConnectionIsWrittenWithoutWaitingForTheWriter) {
  server_.setFlusher(&flusher_);
  ids_.push_back(request(get("/alone")));
  const std::string in = clientOutput();
  server_.receive(reinterpret_cast<const uint8_t*>(in.data()), in.size());
  io_.restart();
  io_.poll();
  ASSERT_EQ(flusher_.seen_at_flush, std::vector<size_t>{1});
  EXPECT_EQ(completedByFlush(), 1u);
}

TEST_F(ServerSessionFlushTest, HandlersOfOneReadStartOnceNghttp2HasReturned) {
  server_.setFlusher(&flusher_);
  const std::string in = burst();
  // Received on the worker's thread, as the connection's reader does. The handlers start only
  // once nghttp2 has taken the whole input (a stream reset in the same read would never start),
  // outside its callbacks, so the 16th response is flushed at once, as any 16th message is.
  asio::post(io_, [&] { server_.receive(reinterpret_cast<const uint8_t*>(in.data()), in.size()); });
  io_.restart();
  io_.poll();
  ASSERT_EQ(flusher_.seen_at_flush, std::vector<size_t>{kFlushAfterMessages});
  EXPECT_EQ(completedByFlush(), kFlushAfterMessages);
}

}  // namespace
}  // namespace weft::http::http2
