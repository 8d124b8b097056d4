"""Keep-alive HTTP/1.1 load for the routing and resilience tests: many requests
through a proxy's outbound port fast (http.client, one connection per thread),
a steady background load, and a burst of concurrent requests released together.
Every result keeps its status, body, x-weft-error and when it started and ended.
Standard library only; every wait is bounded."""

from __future__ import annotations

import collections
import http.client
import threading
import time
from dataclasses import dataclass


@dataclass(repr=False)
class Result:
    start: float  # time.monotonic() just before the request was sent
    end: float  # ... when the whole response had been read (or the request failed)
    status: int  # 0: no response (see error)
    body: bytes = b""
    weft_error: str | None = None  # the x-weft-error header
    error: str = ""  # the exception when there was no response

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace").strip()

    def __str__(self) -> str:
        if not self.status:
            return f"no response: {self.error}"
        return f"{self.status} x-weft-error={self.weft_error!r} body={self.body[:120]!r}"

    __repr__ = __str__  # assertion messages


class Client:
    """One keep-alive connection to 127.0.0.1:port sending `Host: host`. After a failed
    request the connection is dropped and the next request opens a new one."""

    def __init__(self, port: int, host: str, timeout: float = 10.0):
        self.host = host
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                body: bytes | None = None) -> Result:
        hdrs = {"Host": self.host, **(headers or {})}
        t0 = time.monotonic()
        try:
            self.conn.request(method, path, body=body, headers=hdrs)
            r = self.conn.getresponse()
            data = r.read()
            res = Result(t0, time.monotonic(), r.status, data, r.getheader("x-weft-error"))
            if r.will_close:
                self.conn.close()
            return res
        except (OSError, http.client.HTTPException) as e:
            self.conn.close()
            return Result(t0, time.monotonic(), 0, error=f"{type(e).__name__}: {e}")

    def get(self, path: str, headers: dict[str, str] | None = None) -> Result:
        return self.request("GET", path, headers)

    def close(self) -> None:
        self.conn.close()


def _join(threads: list[threading.Thread], deadline: float) -> None:
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"load threads still running at their deadline: {stuck}"


def run(port: int, host: str, n: int, path: str = "/", headers: dict[str, str] | None = None,
        threads: int = 4, limit: float = 60.0) -> list[Result]:
    """n GET requests split over `threads` keep-alive connections; all results, in the
    order each thread sent them (threads one after another)."""
    per = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]
    out: list[list[Result]] = [[] for _ in range(threads)]
    deadline = time.monotonic() + limit

    def work(i: int) -> None:
        c = Client(port, host)
        try:
            for _ in range(per[i]):
                if time.monotonic() > deadline:
                    break
                out[i].append(c.get(path, headers))
        finally:
            c.close()

    ts = [threading.Thread(target=work, args=(i,), name=f"load-{i}", daemon=True)
          for i in range(threads)]
    for t in ts:
        t.start()
    _join(ts, deadline + 15)
    results = [r for part in out for r in part]
    assert len(results) == n, f"only {len(results)} of {n} requests were sent within {limit}s"
    return results


class SteadyLoad:
    """Background GET load: `threads` keep-alive connections, each sending one request
    after another with `pause` seconds between them, until stop() or max_seconds."""

    def __init__(self, port: int, host: str, path: str = "/", threads: int = 4,
                 pause: float = 0.002, max_seconds: float = 30.0):
        self.port, self.host, self.path, self.pause = port, host, path, pause
        self.max_seconds = max_seconds
        self.stop_event = threading.Event()
        self.out: list[list[Result]] = [[] for _ in range(threads)]
        self.threads = [threading.Thread(target=self._work, args=(i,), name=f"steady-{i}",
                                         daemon=True) for i in range(threads)]

    def _work(self, i: int) -> None:
        deadline = time.monotonic() + self.max_seconds
        c = Client(self.port, self.host)
        try:
            while not self.stop_event.is_set() and time.monotonic() < deadline:
                self.out[i].append(c.get(self.path))
                self.stop_event.wait(self.pause)
        finally:
            c.close()

    def start(self) -> "SteadyLoad":
        for t in self.threads:
            t.start()
        return self

    def count(self) -> int:
        return sum(len(o) for o in self.out)

    def stop(self) -> list[Result]:
        self.stop_event.set()
        _join(self.threads, time.monotonic() + 15)
        return sorted((r for part in self.out for r in part), key=lambda r: r.start)


def burst(port: int, host: str, path: str, n: int, limit: float = 30.0) -> list[Result]:
    """n GET requests at once, each on its own connection, released together (the
    connections are open before the release); results in completion order."""
    gate = threading.Barrier(n + 1, timeout=10)
    done: list[Result] = []
    lock = threading.Lock()

    def work() -> None:
        c = Client(port, host, timeout=limit)
        try:
            c.conn.connect()
            gate.wait()
            r = c.get(path)
            with lock:
                done.append(r)
        finally:
            c.close()

    ts = [threading.Thread(target=work, name=f"burst-{i}", daemon=True) for i in range(n)]
    for t in ts:
        t.start()
    gate.wait()
    _join(ts, time.monotonic() + limit + 5)
    return done


def tally(results: list[Result]) -> collections.Counter:
    """Counter of "<status> <body>" (or "error: ...") for assertion messages."""
    return collections.Counter(f"{r.status} {r.text}" if r.status else f"error: {r.error}"
                               for r in results)
