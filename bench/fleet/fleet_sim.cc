// The push fleet simulator (issue #17): N control streams to weft-control, each the proxy's own
// client (proxy/control/control_stream.h: TLS 1.3 + HTTP/2, hello, ACK, heartbeat, reconnect
// with backoff and jitter), with no proxy behind it. bench/push_fleet.py drives it over stdin:
//
//   ready TIMEOUT_S              until every stream holds some config; prints {"have": n, ...}
//   collect VERSION START_NS TIMEOUT_S
//                                until every stream has applied VERSION (or the timeout);
//                                prints each stream's arrival time since START_NS (the
//                                driver's CLOCK_MONOTONIC, which std::chrono::steady_clock is)
//   quit
//
//   weft_fleet_sim --control HOST:PORT --cert F --key F --bundle F --streams N [--threads T]
//                  [--trust-domain D] [--identity SPIFFE-ID]  (the certificate's; default
//                  spiffe://cluster.local/ns/default/sa/fleet)
//
// Stream i registers as workload address 127.<i/65536>.<(i/256)%256>.<i%256>:9080 in namespace
// "default", so every stream is its own endpoint. Loopback only; every wait is bounded.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "identity/credentials.h"
#include "proxy/control/control_stream.h"
#include "runtime/flags.h"

namespace {

using Clock = std::chrono::steady_clock;
using weft::proxy::control::ControlStream;

// One simulated proxy: what it holds, and when each version arrived. Touched by its own worker
// thread; the arrival times also by the main thread, under the lock.
struct SimProxy {
  std::string version;
  std::map<std::string, std::string> held;
  std::mutex mu;
  std::map<std::string, Clock::time_point> arrived;
  std::unique_ptr<ControlStream> stream;
};

struct Flags {
  std::string control, cert, key, bundle, trust_domain = "cluster.local";
  std::string identity = "spiffe://cluster.local/ns/default/sa/fleet";
  uint32_t streams = 1000;
  uint32_t threads = 2;
};

constexpr char kUsage[] =
    "usage: weft_fleet_sim --control HOST:PORT --cert F --key F --bundle F --streams N "
    "[--threads T] [--trust-domain D] [--identity SPIFFE-ID]\n";

absl::Status parse(int argc, char** argv, Flags& f) {
  using weft::runtime::flags::count;
  using weft::runtime::flags::text;
  const weft::runtime::flags::Flag table[] = {
      {"--control", text(&f.control)},
      {"--cert", text(&f.cert)},
      {"--key", text(&f.key)},
      {"--bundle", text(&f.bundle)},
      {"--trust-domain", text(&f.trust_domain)},
      {"--identity", text(&f.identity)},
      {"--streams", count(&f.streams)},
      {"--threads", count(&f.threads)},
  };
  if (auto st = weft::runtime::flags::parse(argc, argv, table, kUsage); !st.ok()) return st;
  if (f.control.empty() || f.cert.empty() || f.key.empty() || f.bundle.empty()) {
    return weft::runtime::flags::bad("--control/--cert/--key/--bundle", "all are required");
  }
  f.threads = std::max<uint32_t>(1, f.threads);
  return absl::OkStatus();
}

std::string addressOf(size_t i) {
  return weft::strCat("127.", (i >> 16) & 255, ".", (i >> 8) & 255, ".", i & 255, ":9080");
}

// Waits (bounded) until `done` holds for every proxy; how many it holds for.
template <typename Pred>
size_t waitAll(std::vector<std::unique_ptr<SimProxy>>& fleet, double timeout_s, Pred done) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    size_t have = 0;
    for (auto& p : fleet) {
      std::lock_guard lock(p->mu);
      if (done(*p)) ++have;
    }
    if (have == fleet.size() || Clock::now() >= deadline) return have;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (auto st = parse(argc, argv, flags); !st.ok()) {
    if (st.code() == absl::StatusCode::kNotFound) {  // --help: the message is the usage
      std::cerr << st.message();
    } else {
      std::cerr << st.message() << "\n" << kUsage;
    }
    return 2;
  }
  auto creds = weft::identity::Credentials::load({flags.cert, flags.key, flags.bundle},
                                                 flags.trust_domain, flags.identity);
  if (!creds.ok()) {
    std::cerr << "credentials: " << creds.status().message() << "\n";
    return 1;
  }
  const size_t colon = flags.control.rfind(':');
  weft::api::HostPort control{flags.control.substr(0, colon),
                              static_cast<uint16_t>(std::stoi(flags.control.substr(colon + 1)))};

  std::vector<std::unique_ptr<weft::asio::io_context>> ios;
  std::vector<weft::asio::executor_work_guard<weft::asio::io_context::executor_type>> guards;
  for (size_t t = 0; t < flags.threads; ++t) {
    ios.push_back(std::make_unique<weft::asio::io_context>(1));
    guards.push_back(weft::asio::make_work_guard(*ios.back()));
  }
  std::shared_ptr<const weft::identity::Credentials> shared = *creds;
  std::vector<std::unique_ptr<SimProxy>> fleet;
  for (size_t i = 0; i < flags.streams; ++i) {
    auto p = std::make_unique<SimProxy>();
    SimProxy* raw = p.get();
    weft::api::push::Node node{"fleet", "default", {}, addressOf(i), {}};
    p->stream = std::make_unique<ControlStream>(
        *ios[i % ios.size()],
        weft::proxy::control::ControlStreamSettings{control, flags.trust_domain, std::move(node)},
        [shared] { return shared; }, [raw] { return std::pair(raw->version, raw->held); },
        [raw](const weft::api::push::Update& u) {
          for (const std::string& key : u.removed) raw->held.erase(key);
          for (const auto& r : u.resources) raw->held[r.key] = r.version;
          raw->version = u.version;
          std::lock_guard lock(raw->mu);
          raw->arrived.emplace(u.version, Clock::now());
          return absl::OkStatus();
        });
    fleet.push_back(std::move(p));
  }
  for (size_t i = 0; i < fleet.size(); ++i) {
    auto* stream = fleet[i]->stream.get();
    weft::asio::post(*ios[i % ios.size()], [stream] { stream->start(); });
  }
  std::vector<std::thread> threads;
  for (auto& io : ios) threads.emplace_back([&io] { io->run(); });

  std::string cmd;
  while (std::cin >> cmd) {
    nlohmann::json out;
    if (cmd == "ready") {
      double timeout = 0;
      std::cin >> timeout;
      out["have"] = waitAll(fleet, timeout, [](SimProxy& p) { return !p.arrived.empty(); });
    } else if (cmd == "collect") {
      std::string version;
      int64_t start_ns = 0;
      double timeout = 0;
      std::cin >> version >> start_ns >> timeout;
      const size_t have =
          waitAll(fleet, timeout, [&](SimProxy& p) { return p.arrived.contains(version); });
      std::vector<double> ms;
      for (auto& p : fleet) {
        std::lock_guard lock(p->mu);
        auto it = p->arrived.find(version);
        if (it == p->arrived.end()) continue;
        const int64_t at =
            std::chrono::duration_cast<std::chrono::nanoseconds>(it->second.time_since_epoch())
                .count();
        ms.push_back(static_cast<double>(at - start_ns) / 1e6);
      }
      out["have"] = have;
      out["ms"] = ms;
    } else if (cmd == "quit") {
      break;
    } else {
      out["error"] = "unknown command " + cmd;
    }
    out["streams"] = fleet.size();
    std::cout << out.dump() << std::endl;
  }
  // The streams' coroutines are suspended in the io_contexts, which would outlive them: end
  // the process here rather than unwind that (a bench tool; nothing is left to flush).
  std::cout.flush();
  std::_Exit(0);
}
