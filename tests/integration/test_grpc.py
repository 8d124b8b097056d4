"""gRPC through real sidecars (issue #4): Python grpcio client -> web sidecar (h2c on
its outbound port) -> backend sidecar (mTLS) -> grpcio server app (grpc_apps.py, h2c).
Unary with metadata and trailers, a 10,000-message server stream, client streaming,
a bidi stream of 100 round trips, deadlines and cancellation, the app's own status
codes, the proxy's own errors as gRPC errors, a 90/10 split, gRPC method matches and
the grpc_status / classification labels.

The app sidecar runs with the default --app-protocol (auto: h2c to the app for requests
that came as HTTP/2).  The proxy's own gRPC errors live in test_grpc_errors.py."""

import hashlib
import os
import queue

import grpc
import pytest

import fleet as F
import grpc_apps as GA
import mesh as M
from stats import binomial_bounds

BACKEND = f"backend.{M.NAMESPACE}"


def wait_cancelled(app: GA.GrpcApp, before: int, timeout: float = 5.0) -> int:
    last = before

    def grew() -> bool:
        nonlocal last
        last = app.stats()["cancelled"]
        return last > before

    M.wait_until(grew, timeout, 0.05)
    return last


# ---------------------------------------------------------------- the four kinds of call

def test_unary_metadata_and_trailers(greeter):
    blob = b"\x00\xff binary \r\n"
    reply, initial, trailing = greeter.say_hello(
        "weft", metadata=(("x-echo-text", "plain value"), ("x-echo-blob-bin", blob)))
    assert (reply.message, reply.version) == ("Hello weft", "v1"), reply
    assert initial.get("x-app-version") == "v1", initial
    # the app learns its caller's verified identity from the server sidecar
    assert initial.get("x-app-peer") == M.spiffe("web"), initial
    assert trailing.get("x-app-trailer") == "done v1", trailing
    assert trailing.get("x-echo-text") == "plain value", trailing
    assert trailing.get("x-echo-blob-bin") == blob, trailing


def test_200_concurrent_unary_calls_answer_their_own_requests(greeter):
    results = GA.hello_many(greeter, 200, window=200)
    assert GA.tally(results) == {"v1": 200}


def test_server_stream_10000_messages_in_order(greeter):
    call = greeter.stream_hellos(10_000, size=32, timeout=120)
    replies = [GA.Reply.parse(raw) for raw in call]
    assert call.code() == grpc.StatusCode.OK, call.details()
    indexes = [r.index for r in replies]
    assert len(indexes) == 10_000, f"received {len(indexes)} of 10000 messages"
    assert indexes == list(range(10_000)), "messages out of order"
    assert all(len(r.payload) == 32 and r.version == "v1" for r in replies)


def test_server_stream_large_messages(greeter):
    """16 MiB as 256 messages of 64 KiB: flow control between every hop."""
    call = greeter.stream_hellos(256, size=64 * 1024, timeout=120)
    replies = [GA.Reply.parse(raw) for raw in call]
    assert call.code() == grpc.StatusCode.OK, call.details()
    assert [r.index for r in replies] == list(range(256))
    pattern = (bytes(range(256)) * 256)[:64 * 1024]
    assert all(r.payload == pattern for r in replies), "a payload was altered"


@pytest.mark.parametrize("n,size", [(1, 1), (1000, 100), (256, 64 * 1024)])
def test_client_streaming_counts_bytes(greeter, n, size):
    chunks = [os.urandom(size) for _ in range(n)]
    reply = greeter.count_bytes(chunks, timeout=120)
    assert (reply.index, reply.bytes) == (n, n * size), reply
    assert reply.sha256 == hashlib.sha256(b"".join(chunks)).hexdigest()


def test_bidi_stream_100_round_trips(greeter):
    """Each message is answered before the next is sent: a proxy that waited for the
    end of the request stream would never deliver the first answer."""
    q: queue.Queue = queue.Queue()

    def requests():
        while True:
            m = q.get(timeout=30)
            if m is None:
                return
            yield m

    call = greeter.chat(requests(), timeout=60)
    try:
        for i in range(100):
            msg = f"round trip {i} ".encode() * (i + 1)
            q.put(msg)
            got = next(call)
            assert got == msg, f"round trip {i}: sent {msg[:40]!r}..., got {got[:40]!r}..."
    finally:
        q.put(None)
    assert list(call) == [], "messages after the last echo"
    assert call.code() == grpc.StatusCode.OK, call.details()


# ---------------------------------------------------------------- deadlines, cancellation

def test_deadline_expires(greeter, grpc_app):
    before = grpc_app.stats()["cancelled"]
    e = GA.rpc_error(greeter.slow, 5000, timeout=0.5)
    assert e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, (e.code(), e.details())
    # and the app stopped working on it (grpc-timeout forwarded, or the stream reset)
    assert wait_cancelled(grpc_app, before) > before, "the app never saw the call end"


def test_grpc_timeout_reaches_app(greeter):
    reply = greeter.slow(0, timeout=8)
    assert 4000 < reply.deadline_ms <= 8100, \
        f"the app saw a deadline of {reply.deadline_ms} ms (the client's: 8000 ms; grpcio rounds up)"


def test_cancel_reaches_app(greeter, grpc_app):
    """A call the client cancels (no deadline involved) ends at the app too: the
    RST_STREAM crosses both sidecars."""
    before, slow_calls = grpc_app.stats()["cancelled"], grpc_app.stats()["calls"].get("Slow", 0)
    fut = greeter.slow_call.future(GA.request(delay_ms=20_000), timeout=30)
    assert GA.reached_app(grpc_app, "Slow", slow_calls + 1, [fut]), \
        f"the call never reached the app: {GA.outcome(fut)}"
    fut.cancel()
    assert wait_cancelled(grpc_app, before) > before, "the app kept serving a cancelled call"


# ---------------------------------------------------------------- status codes and errors

@pytest.mark.parametrize("code", [grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE,
                                  grpc.StatusCode.PERMISSION_DENIED])
def test_app_status_passes_through(greeter, code):
    e = GA.rpc_error(greeter.fail, code, f"app says {code.name} (50% off)")
    assert (e.code(), e.details()) == (code, f"app says {code.name} (50% off)")


# ---------------------------------------------------------------- routing

@pytest.fixture(scope="module")
def grpc_versions(module_dir):
    apps = {v: GA.GrpcApp(module_dir / f"grpc-app-{v}", v).start() for v in ("v1", "v2")}
    yield apps
    for a in apps.values():
        a.stop()


def grpc_fleet(pool, apps, rules: str) -> F.Fleet:
    return F.start_fleet(pool, {v: a.port for v, a in apps.items()},
                         lambda addrs: F.documents(F.service_yaml(addrs), F.route_yaml(rules)))


SPLIT = f"""
- matches: [{{path: {{type: PathPrefix, value: /{GA.SERVICE}}}}}]
  backendRefs:
    - {{name: reviews, subset: v1, weight: 90}}
    - {{name: reviews, subset: v2, weight: 10}}
"""


def test_split_90_10_over_2000_calls(proxies, grpc_versions):
    fleet = grpc_fleet(proxies, grpc_versions, SPLIT)
    with GA.channel(fleet.client.outbound, F.SERVICE) as ch:
        results = GA.hello_many(GA.GreeterClient(ch), 2000)
    counts = GA.tally(results)
    assert set(counts) == {"v1", "v2"}, counts
    lo, hi = binomial_bounds(2000, 0.10)  # 138..269: a fair 10% split fails 1 run in 10^6
    assert lo <= counts["v2"] <= hi, f"v2 answered {counts['v2']} of 2000 calls (want {lo}..{hi})"
    for v in ("v1", "v2"):
        assert F.settled(fleet.client, counts[v], "response_total", direction="outbound",
                         route="reviews", dst_subset=v, grpc_status="0") == counts[v]


GRPC_MATCH = f"""
- matches: [{{grpc: {{service: {GA.SERVICE}, method: SayHello}}}}]
  backendRefs: [{{name: reviews, subset: v2}}]
- matches: [{{grpc: {{service: {GA.SERVICE}}}}}]
  backendRefs: [{{name: reviews, subset: v1}}]
"""


def test_grpc_service_and_method_match(proxies, grpc_versions):
    fleet = grpc_fleet(proxies, grpc_versions, GRPC_MATCH)
    with GA.channel(fleet.client.outbound, F.SERVICE) as ch:
        g = GA.GreeterClient(ch)
        hellos = GA.hello_many(g, 50)
        slows = [g.slow(0).version for _ in range(50)]
        streams = [GA.Reply.parse(next(g.stream_hellos(1))).version for _ in range(20)]
    assert GA.tally(hellos) == {"v2": 50}, "SayHello must go to v2"
    assert set(slows) == {"v1"} and set(streams) == {"v1"}, \
        f"other Greeter methods must go to v1: Slow {set(slows)}, StreamHellos {set(streams)}"


# ---------------------------------------------------------------- metrics

def test_response_total_grpc_status_and_classification(grpc_mesh, greeter):
    ok = dict(status_code="200", grpc_status="0", classification="success")
    bad = dict(status_code="200", grpc_status="14", classification="failure")
    sides = {"client": (grpc_mesh.client, dict(direction="outbound", dst_service=BACKEND)),
             "server": (grpc_mesh.server, dict(direction="inbound"))}
    before = {(s, k): F.metric(p, "response_total", **lbl, **kind)
              for s, (p, lbl) in sides.items() for k, kind in (("ok", ok), ("bad", bad))}
    for i in range(20):
        greeter.say_hello(f"m{i}")
    for _ in range(7):
        GA.rpc_error(greeter.fail, grpc.StatusCode.UNAVAILABLE, "try later")
    for s, (p, lbl) in sides.items():
        for k, kind, n in (("ok", ok, 20), ("bad", bad, 7)):
            got = F.settled(p, before[(s, k)] + n, "response_total", **lbl, **kind)
            assert got - before[(s, k)] == n, \
                f"{s} sidecar: response_total{{{kind}}} grew by {got - before[(s, k)]}, not {n}"
