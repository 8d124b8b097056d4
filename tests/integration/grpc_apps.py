"""A gRPC server application for the Weft integration tests (issue #4), its process
wrapper and client helpers.  grpcio (Debian python3-grpcio) with generic handlers and
bytes in and out: no protoc, no generated code.  The messages are real protobuf on the
wire, encoded by the small codec below:

    package helloworld;
    message HelloRequest { string name = 1; uint32 count = 2; uint32 delay_ms = 3;
                           uint32 code = 4; string text = 5; uint32 size = 6; }
    message HelloReply   { string message = 1; uint32 index = 2; string version = 3;
                           uint64 bytes = 4; string sha256 = 5; bytes payload = 6;
                           uint32 deadline_ms = 7; }
    service Greeter {
      rpc SayHello(HelloRequest) returns (HelloReply);                  // "Hello <name>"
      rpc StreamHellos(HelloRequest) returns (stream HelloReply);       // count replies, index 0..
      rpc CountBytes(stream bytes) returns (HelloReply);                // index=messages, bytes, sha256
      rpc Chat(stream bytes) returns (stream bytes);                    // echoes each message
      rpc Slow(HelloRequest) returns (HelloReply);                      // answers after delay_ms
      rpc Fail(HelloRequest) returns (HelloReply);                      // ends with status code/text
    }
    service weft.test.Control { rpc Stats(bytes) returns (bytes); }     // JSON counters

Run as a process (the tests never serve gRPC from pytest's own interpreter):
    /usr/bin/python3 grpc_apps.py --port 0 --version v1 --ready-file F
It writes its port to F once it serves, and stops on SIGTERM.  Every reply carries the
version; SayHello also returns initial metadata x-app-version and x-app-peer (the
x-weft-peer-identity it was given), echoes request metadata x-echo-* as trailing
metadata, and adds the trailer x-app-trailer."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc

SERVICE = "helloworld.Greeter"
CONTROL = "weft.test.Control"
HERE = Path(__file__).resolve()


# --------------------------------------------------------------------------
# protobuf wire format: varint (0) and length-delimited (2) fields only

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def encode(fields: dict[int, int | str | bytes]) -> bytes:
    out = bytearray()
    for num in sorted(fields):
        v = fields[num]
        if isinstance(v, int):
            out += _varint(num << 3) + _varint(v)
        else:
            data = v.encode() if isinstance(v, str) else bytes(v)
            out += _varint(num << 3 | 2) + _varint(len(data)) + data
    return bytes(out)


def decode(data: bytes) -> dict[int, int | bytes]:
    out: dict[int, int | bytes] = {}
    pos = 0

    def varint() -> int:
        nonlocal pos
        n = shift = 0
        while True:
            if pos >= len(data) or shift > 63:
                raise ValueError("truncated varint")
            b = data[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    while pos < len(data):
        key = varint()
        num, wire = key >> 3, key & 7
        if wire == 0:
            out[num] = varint()
        elif wire == 2:
            n = varint()
            if pos + n > len(data):
                raise ValueError("truncated field")
            out[num], pos = data[pos:pos + n], pos + n
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


@dataclass
class Reply:
    """A decoded HelloReply."""
    message: str = ""
    index: int = 0
    version: str = ""
    bytes: int = 0
    sha256: str = ""
    payload: bytes = b""
    deadline_ms: int = 0

    @classmethod
    def parse(cls, data: bytes) -> "Reply":
        f = decode(data)
        s = lambda n: f.get(n, b"").decode()  # noqa: E731
        return cls(s(1), f.get(2, 0), s(3), f.get(4, 0), s(5), f.get(6, b""), f.get(7, 0))


def request(name: str = "", count: int = 0, delay_ms: int = 0, code: int = 0, text: str = "",
            size: int = 0) -> bytes:
    fields = {1: name, 2: count, 3: delay_ms, 4: code, 5: text, 6: size}
    return encode({k: v for k, v in fields.items() if v not in ("", 0)})


# --------------------------------------------------------------------------
# the server

class Greeter:
    def __init__(self, version: str):
        self.version = version
        self.lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self.cancelled = 0  # Slow calls that ended because the caller went away

    def _count(self, method: str) -> None:
        with self.lock:
            self.calls[method] = self.calls.get(method, 0) + 1

    def _reply(self, fields: dict[int, int | str | bytes]) -> bytes:
        """A HelloReply with these fields and the app's version (field 3)."""
        return encode({k: v for k, v in {3: self.version, **fields}.items() if v not in ("", 0)})

    def say_hello(self, req: bytes, ctx) -> bytes:
        self._count("SayHello")
        md = dict(ctx.invocation_metadata())
        ctx.send_initial_metadata((("x-app-version", self.version),
                                   ("x-app-peer", md.get("x-weft-peer-identity", ""))))
        ctx.set_trailing_metadata(tuple((k, v) for k, v in ctx.invocation_metadata()
                                        if k.startswith("x-echo-"))
                                  + (("x-app-trailer", f"done {self.version}"),))
        name = decode(req).get(1, b"").decode()
        return self._reply({1: f"Hello {name}"})

    def stream_hellos(self, req: bytes, ctx):
        self._count("StreamHellos")
        f = decode(req)
        payload = (bytes(range(256)) * (f.get(6, 0) // 256 + 1))[:f.get(6, 0)]
        for i in range(f.get(2, 0)):
            yield self._reply({2: i, 6: payload})

    def count_bytes(self, it, ctx) -> bytes:
        self._count("CountBytes")
        h, n, total = hashlib.sha256(), 0, 0
        for msg in it:
            h.update(msg)
            n, total = n + 1, total + len(msg)
        return self._reply({2: n, 4: total, 5: h.hexdigest()})

    def chat(self, it, ctx):
        self._count("Chat")
        for msg in it:
            yield msg

    def slow(self, req: bytes, ctx) -> bytes:
        self._count("Slow")
        remaining = ctx.time_remaining()  # from the grpc-timeout the app was sent
        deadline_ms = 0 if remaining is None else max(1, int(remaining * 1000))
        end = time.monotonic() + min(decode(req).get(3, 0), 30_000) / 1000
        while time.monotonic() < end:
            if not ctx.is_active():
                with self.lock:
                    self.cancelled += 1
                return b""
            time.sleep(0.01)
        return self._reply({1: "slept", 7: deadline_ms})

    def fail(self, req: bytes, ctx) -> bytes:
        self._count("Fail")
        f = decode(req)
        code = next(c for c in grpc.StatusCode if c.value[0] == f.get(4, 2))
        ctx.abort(code, f.get(5, b"").decode())

    def stats(self, req: bytes, ctx) -> bytes:
        with self.lock:
            return json.dumps({"calls": self.calls, "cancelled": self.cancelled}).encode()

    def handlers(self):
        uu, us = grpc.unary_unary_rpc_method_handler, grpc.unary_stream_rpc_method_handler
        su, ss = grpc.stream_unary_rpc_method_handler, grpc.stream_stream_rpc_method_handler
        return (grpc.method_handlers_generic_handler(SERVICE, {
            "SayHello": uu(self.say_hello), "StreamHellos": us(self.stream_hellos),
            "CountBytes": su(self.count_bytes), "Chat": ss(self.chat),
            "Slow": uu(self.slow), "Fail": uu(self.fail)}),
            grpc.method_handlers_generic_handler(CONTROL, {"Stats": uu(self.stats)}))


def serve(port: int, version: str, ready_file: str | None) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64),
                         options=[("grpc.max_receive_message_length", 64 << 20),
                                  ("grpc.max_send_message_length", 64 << 20)])
    server.add_generic_rpc_handlers(Greeter(version).handlers())
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    if not bound:
        sys.exit(f"grpc_apps: cannot listen on 127.0.0.1:{port}")
    server.start()
    if ready_file:
        tmp = f"{ready_file}.tmp"
        Path(tmp).write_text(str(bound))
        os.replace(tmp, ready_file)
    print(f"grpc app {version} listening on 127.0.0.1:{bound}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop(grace=1).wait(3)


# --------------------------------------------------------------------------
# the process, as the tests start it

class GrpcApp:
    """grpc_apps.py in its own process on an ephemeral 127.0.0.1 port."""

    def __init__(self, workdir: Path, version: str):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.version = version
        self.error_log = self.dir / "grpc-app.log"  # conftest prints it when a test fails
        self.ready_file = self.dir / "port"
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 15.0) -> "GrpcApp":
        import mesh as M
        self.ready_file.unlink(missing_ok=True)
        with open(self.error_log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(HERE), "--port", "0", "--version", self.version,
                 "--ready-file", str(self.ready_file)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        M.wait_until(lambda: self.proc.poll() is not None or self.ready_file.exists(), timeout)
        if not self.ready_file.exists():
            self.stop()
            raise RuntimeError(f"gRPC app {self.version} did not start:\n{M.tail(self.error_log)}")
        self.port = int(self.ready_file.read_text())
        M.LIVE_APPS.append(self)
        return self

    def stop(self) -> None:
        import mesh as M
        if self in M.LIVE_APPS:
            M.LIVE_APPS.remove(self)
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def stats(self) -> dict:
        """The app's counters, asked directly (not through any proxy)."""
        with channel(self.port, "grpc-app") as ch:
            raw = ch.unary_unary(f"/{CONTROL}/Stats")(b"", timeout=5)
        return json.loads(raw)


# --------------------------------------------------------------------------
# clients

def channel(port: int, authority: str = "backend") -> grpc.Channel:
    """Plaintext HTTP/2 (h2c, prior knowledge) to 127.0.0.1:port with :authority
    `authority`; never through an environment proxy, and without grpcio's own retries,
    so each call is exactly one request the proxy sees."""
    return grpc.insecure_channel(f"127.0.0.1:{port}", options=[
        ("grpc.default_authority", authority),
        ("grpc.enable_http_proxy", 0),
        ("grpc.enable_retries", 0),
        ("grpc.max_receive_message_length", 64 << 20),
        ("grpc.max_send_message_length", 64 << 20),
    ])


class GreeterClient:
    """helloworld.Greeter's methods on a channel; every call has a deadline."""

    def __init__(self, ch: grpc.Channel):
        m = f"/{SERVICE}/"
        self.say = ch.unary_unary(m + "SayHello")
        self.stream = ch.unary_stream(m + "StreamHellos")
        self.count = ch.stream_unary(m + "CountBytes")
        self.chat = ch.stream_stream(m + "Chat")
        self.slow_call = ch.unary_unary(m + "Slow")
        self.fail_call = ch.unary_unary(m + "Fail")

    def say_hello(self, name: str, timeout: float = 10.0, metadata=None):
        """(Reply, initial metadata dict, trailing metadata dict)"""
        raw, call = self.say.with_call(request(name), timeout=timeout, metadata=metadata)
        return Reply.parse(raw), dict(call.initial_metadata()), dict(call.trailing_metadata())

    def stream_hellos(self, count: int, size: int = 0, timeout: float = 60.0):
        """The call (iterate it for raw replies; trailing_metadata() after the end)."""
        return self.stream(request(count=count, size=size), timeout=timeout)

    def count_bytes(self, chunks, timeout: float = 60.0) -> Reply:
        return Reply.parse(self.count(iter(chunks), timeout=timeout))

    def slow(self, delay_ms: int, timeout: float | None = 10.0) -> Reply:
        return Reply.parse(self.slow_call(request(delay_ms=delay_ms), timeout=timeout))

    def fail(self, code: grpc.StatusCode, text: str, timeout: float = 10.0) -> Reply:
        return Reply.parse(self.fail_call(request(code=code.value[0], text=text),
                                          timeout=timeout))


def hello_many(client: GreeterClient, n: int, window: int = 50,
               timeout: float = 20.0) -> list[Reply | grpc.RpcError]:
    """n SayHello calls ("n0".."n<n-1>"), `window` in flight at a time on the client's
    channel; each result in call order, a Reply or the RpcError the call ended with.
    A reply whose message does not answer its own request is an AssertionError."""
    out: list[Reply | grpc.RpcError] = []
    for start in range(0, n, window):
        names = [f"n{i}" for i in range(start, min(n, start + window))]
        futs = [client.say.future(request(name), timeout=timeout) for name in names]
        for name, f in zip(names, futs):
            try:
                r = Reply.parse(f.result(timeout=timeout + 5))
            except grpc.RpcError as e:
                out.append(e)
                continue
            assert r.message == f"Hello {name}", f"call {name} got the reply {r}"
            out.append(r)
    return out


def tally(results) -> dict[str, int]:
    """{"v1": n, "v2": n, "UNAVAILABLE: <details>": n, ...} for assertion messages."""
    out: dict[str, int] = {}
    for r in results:
        k = r.version if isinstance(r, Reply) else f"{r.code().name}: {r.details()}"
        out[k] = out.get(k, 0) + 1
    return out


def outcome(fut: grpc.Future, timeout: float = 0.0) -> str:
    """A unary call's reply message, or "<CODE>: <details>" (waits up to timeout)."""
    try:
        return Reply.parse(fut.result(timeout=timeout)).message
    except grpc.FutureTimeoutError:
        return "still running"
    except grpc.RpcError as e:
        return f"{e.code().name}: {e.details()}"


def reached_app(app: GrpcApp, method: str, calls: int, futs, timeout: float = 5.0) -> bool:
    """Wait until the app has served `calls` calls of method (in total), or every one
    of futs has ended; True in the first case."""
    import mesh as M
    reached = lambda: app.stats()["calls"].get(method, 0) >= calls  # noqa: E731
    M.wait_until(lambda: reached() or all(f.done() for f in futs), timeout, 0.05)
    return reached()


def rpc_error(fn, *args, **kw) -> grpc.RpcError:
    """Call fn and return the RpcError it raised (an AssertionError if none)."""
    try:
        out = fn(*args, **kw)
    except grpc.RpcError as e:
        return e
    raise AssertionError(f"expected the call to fail, it returned {out!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--version", default="v1")
    ap.add_argument("--ready-file")
    args = ap.parse_args()
    serve(args.port, args.version, args.ready_file)


if __name__ == "__main__":
    main()
