"""weft-control pushing config to real proxies: weft-control, three weft-proxies started from
join tokens with no --config (reviews v1 and v2 in front of nginx apps, and a web client), the
policy applied with weftctl. A 90/10 split shows in traffic; `weftctl split` moves every new
request under load without a failure; a config a proxy cannot apply is NACKed and shown by
`weftctl proxies` while it keeps serving; with weft-control killed, traffic goes on and a proxy
restarted meanwhile serves from its cache; a killed proxy leaves the Service's endpoints once
its registration lapses."""

import json
import signal
import threading
import time
import urllib.request

import pytest

import mesh as M
from clients import curl
from control_plane import REVIEWS_POLICY as POLICY, Control, metric

TTL = 3  # --registration-ttl, seconds



class App(M.Nginx):
    def __init__(self, prefix, version):
        super().__init__(prefix)
        self.version = version

    def start(self):
        (self.www).mkdir(parents=True, exist_ok=True)
        (self.www / "version").write_text(self.version)
        return super().start()


class Fleet:
    """weft-control, the apps and the proxies of one test."""

    def __init__(self, tmp_path, proxies):
        self.tmp = tmp_path
        self.pool = proxies
        self.control = Control(tmp_path, "--trust-domain", M.TRUST_DOMAIN,
                               "--registration-ttl", f"{TTL}s").wait_ready()
        self.apps = {v: App(tmp_path / f"app-{v}", v).start() for v in ("v1", "v2")}
        self.reviews = {}
        self.web = None

    def proxy(self, name, service, app_port, *extra, sa=None, cache=True):
        cache_dir = self.tmp / f"cache-{name}" if cache else None
        return self.pool.new(
            name, service=service, app_port=app_port,
            identity_args=[*self.control.identity_args(self.tmp, sa or service,
                                                        cache_dir=cache_dir), *extra])

    def start(self):
        p = self.control.weftctl("apply", "-f", "-", input=POLICY)
        assert p.returncode == 0, p
        for v, app in self.apps.items():
            self.reviews[v] = self.proxy(f"reviews-{v}", "reviews", app.port, "--labels",
                                         f"version={v}")
            self.reviews[v].start(ready_timeout=20)
        self.web = self.proxy("web", "web", self.apps["v1"].port)
        self.web.start(ready_timeout=20)
        assert self.synced(3), self.control.weftctl("proxies").stdout
        return self

    def proxies_json(self):
        p = self.control.weftctl("proxies", "-o", "json")
        assert p.returncode == 0, p
        return json.loads(p.stdout)

    def synced(self, count, timeout=15.0):
        """Every one of `count` proxies runs the control plane's current version."""
        def ok():
            doc = self.proxies_json()
            ps = doc["proxies"]
            return len(ps) == count and all(
                p["status"] == "SYNCED" and p["version"] == doc["version"] for p in ps)
        return M.wait_until(ok, timeout, 0.1)

    def versions(self, n):
        seen = {"v1": 0, "v2": 0}
        for _ in range(n):
            r = curl("-H", "Host: reviews", self.web.out_url("/version"))
            assert r.status == 200, r
            seen[r.body.decode()] += 1
        return seen


@pytest.fixture
def fleet(tmp_path, proxies):
    f = Fleet(tmp_path, proxies).start()
    yield f
    f.control.stop()


class Load:
    """Requests one after another through the web proxy until stopped (at most `limit` or
    `seconds`); every answer's app version, and every failure."""

    def __init__(self, web, limit: int = 2000, seconds: float = 60):
        self.limit, self.seconds = limit, seconds
        self.url = web.out_url("/version")
        self.stop_flag = threading.Event()
        self.answers: list[str] = []
        self.failures: list[str] = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        deadline = time.monotonic() + self.seconds
        while not self.stop_flag.is_set() and len(self.answers) < self.limit \
                and time.monotonic() < deadline:
            req = urllib.request.Request(self.url, headers={"Host": "reviews"})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    self.answers.append(r.read().decode())
            except Exception as e:  # noqa: BLE001 - every failure counts
                self.failures.append(repr(e))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join(timeout=self.seconds + 10)


def test_split_shows_in_traffic_and_moves_under_load_without_a_failure(fleet):
    seen = fleet.versions(100)
    assert seen["v1"] > seen["v2"] > 0, seen
    with Load(fleet.web) as load:
        M.wait_until(lambda: len(load.answers) >= 20, 10)
        p = fleet.control.weftctl("split", "reviews", "v1=0", "v2=100")
        assert p.returncode == 0, p
        assert fleet.synced(3), fleet.proxies_json()
        moved_at = len(load.answers)
        M.wait_until(lambda: len(load.answers) >= moved_at + 50, 20)
    assert load.failures == [], load.failures[:5]
    after = load.answers[moved_at:]
    assert len(after) >= 50 and set(after) == {"v2"}, after[:20]
    assert fleet.versions(20) == {"v1": 0, "v2": 20}
    m = fleet.control.metrics()
    assert metric(m, "control_connected_proxies") == 3
    assert metric(m, "control_push_acks_total") >= 6
    assert metric(m, "control_push_nacks_total") == 0


def test_an_invalid_apply_changes_no_traffic(fleet):
    bad = POLICY.replace("subset: v2, weight: 10", "subset: v3, weight: 10")
    p = fleet.control.weftctl("apply", "-f", "-", input=bad)
    assert p.returncode == 1 and "has no subset 'v3'" in p.stderr, p
    seen = fleet.versions(60)
    assert seen["v1"] > 0 and seen["v2"] > 0, seen


def test_a_config_a_proxy_cannot_apply_is_nacked_and_shown(tmp_path, proxies):
    f = Fleet(tmp_path, proxies)
    try:
        p = f.control.weftctl("apply", "-f", "-", input=POLICY)
        assert p.returncode == 0, p
        small = f.proxy("small", "web", f.apps["v1"].port, "--max-services", "1")
        small.start(ready_timeout=20)
        assert f.synced(1)
        r = curl("-H", "Host: reviews", small.out_url("/version"))
        assert r.status in (502, 503), r  # reviews has no endpoints yet: no proxy registered
        extra = ("---\napiVersion: weft.dev/v1alpha1\nkind: Service\nmetadata: {name: ratings}\n"
                 "spec: {port: 80}\n")
        assert f.control.weftctl("apply", "-f", "-", input=POLICY + extra).returncode == 0

        def nacked():
            ps = f.proxies_json()["proxies"]
            return ps and ps[0]["status"] == "NACKED"
        assert M.wait_until(nacked, 15, 0.1), f.proxies_json()
        doc = f.proxies_json()["proxies"][0]
        assert "2 Services in scope, over --max-services 1" in doc["reason"], doc
        table = f.control.weftctl("proxies").stdout
        assert "NACKED" in table and "over --max-services 1" in table, table
        m = f.control.metrics()
        assert metric(m, "control_push_nacks_total") == 1
        assert metric(m, 'control_proxies{status="NACKED"}') == 1, m
        assert metric(m, 'control_proxies{status="SYNCED"}') == 0, m
        # It keeps serving on its last good config (reviews is still routed).
        cfg = json.loads(urllib.request.urlopen(small.admin_url("/config"), timeout=5).read())
        names = [r["metadata"]["name"] for r in cfg["resources"] if r["kind"] == "Service"]
        assert names == ["reviews"], names
        assert "refused (NACK)" in small.log()
    finally:
        f.control.stop()


def test_traffic_survives_the_control_plane_and_a_restart_serves_from_the_cache(fleet):
    fleet.control.stop(signal.SIGKILL)
    seen = fleet.versions(40)
    assert seen["v1"] > 0, seen
    # The web proxy restarts while weft-control is down: its cached certificate and config.
    fleet.web.stop()
    restarted = fleet.pool.new("web-again", service="web", app_port=fleet.apps["v1"].port,
                               identity_args=fleet.web.identity_args)
    restarted.start(ready_timeout=20)
    assert "serving the cached config version" in restarted.log()
    fleet.web = restarted
    seen = fleet.versions(40)
    assert seen["v1"] > 0 and seen["v2"] > 0, seen
    # weft-control comes back with every acknowledged apply; the proxies reconnect.
    fleet.control = Control(fleet.tmp, "--trust-domain", M.TRUST_DOMAIN, "--registration-ttl",
                            f"{TTL}s", data_dir=fleet.control.data_dir,
                            listen=fleet.control.listen, name="control-2").wait_ready()
    p = fleet.control.weftctl("get", "route", "reviews", "-o", "json")
    assert p.returncode == 0 and "90" in p.stdout, p
    assert fleet.synced(3, timeout=60), fleet.proxies_json()


def test_a_killed_proxy_leaves_the_endpoints_after_its_lease(fleet):
    def endpoints():
        cfg = json.loads(urllib.request.urlopen(fleet.web.admin_url("/config"), timeout=5).read())
        svc = [r for r in cfg["resources"] if r["kind"] == "Service"
               and r["metadata"]["name"] == "reviews"][0]
        return sorted(e["labels"]["version"] for e in svc["spec"].get("endpoints", []))
    assert endpoints() == ["v1", "v2"]
    fleet.reviews["v2"].kill()
    assert M.wait_until(lambda: endpoints() == ["v1"], TTL + 10, 0.2), endpoints()
    # The route still gives v2 a tenth: those requests now say why they fail.
    for _ in range(30):
        r = curl("-H", "Host: reviews", fleet.web.out_url("/version"))
        assert (r.status, r.body) == (200, b"v1") or (
            r.status == 503 and r.header("x-weft-error") ==
            "no endpoints for service reviews.default subset v2"), r


def test_a_pod_that_joins_under_load_is_added_in_place_without_a_failure(fleet):
    """Endpoint churn updates the web proxy's destination in place: no new route table (its log
    and config_endpoint_updates_total say so), no failed request, and the new pod gets traffic."""
    def updates():
        return metric(fleet.web.metrics_text(), "config_endpoint_updates_total")
    before = updates()
    with Load(fleet.web) as load:
        M.wait_until(lambda: len(load.answers) >= 20, 10)
        joined = fleet.proxy("reviews-v1b", "reviews", fleet.apps["v1"].port, "--labels",
                             "version=v1")
        joined.start(ready_timeout=20)
        assert fleet.synced(4), fleet.proxies_json()

        def served():
            return metric(joined.metrics_text(), 'request_total{authority="reviews",'
                          'direction="inbound",dst_service="reviews.default",tls="true"}')
        assert M.wait_until(lambda: served() > 0, 20, 0.1), joined.metrics_text()
        at = len(load.answers)
        M.wait_until(lambda: len(load.answers) >= at + 20, 10)
    assert load.failures == [], load.failures[:5]
    assert updates() > before
    assert "updated in place (route table kept)" in fleet.web.log()


AUTHZ = """\
apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: reviews-callers}
spec:
  targetRef: {kind: Service, name: reviews}
  rules:
    - from: [{identities: ["%s"]}]
      to: [{methods: [GET], paths: ["/version", "/api/*"]}]
""" % M.spiffe("web")


def test_authorization_policy_admits_a_listed_identity_and_denies_the_rest(fleet):
    other = fleet.proxy("other", "other", fleet.apps["v1"].port)
    other.start(ready_timeout=20)
    assert fleet.synced(4)
    # Without a policy every authenticated caller is admitted.
    r = curl("-H", "Host: reviews", other.out_url("/version"))
    assert r.status == 200, r
    p = fleet.control.weftctl("apply", "-f", "-", input=AUTHZ)
    assert p.returncode == 0, p
    assert fleet.synced(4)
    assert sum(fleet.versions(20).values()) == 20
    r = curl("-H", "Host: reviews", other.out_url("/version"))
    assert r.status == 403, r
    assert r.header("x-weft-error") == (
        f"unauthorized: {M.spiffe('other')} may not call reviews (GET /version)"), r
    # A listed caller, but a method the rule does not name.
    r = curl("-X", "DELETE", "-H", "Host: reviews", fleet.web.out_url("/version"))
    assert r.status == 403, r
    p = fleet.control.weftctl("authz", "check", "--from", M.spiffe("web"), "--to", "reviews",
                              "--path", "/api/x")
    assert p.returncode == 0 and p.stdout.startswith(
        "ALLOWED: AuthorizationPolicy default/reviews-callers rules[0]"), p
    p = fleet.control.weftctl("authz", "check", "--from", M.spiffe("other"), "--to", "reviews")
    assert p.returncode == 6 and p.stdout.startswith("DENIED: unauthorized:"), p
    inbound_403 = [s for s in fleet.reviews["v1"].metrics() + fleet.reviews["v2"].metrics()
                   if s.name == "response_total" and s.labels.get("status_code") == "403"]
    assert sum(s.value for s in inbound_403) >= 1, inbound_403


def h2_stream(control, tmp_path, window: int):
    """A control stream opened with Python's h2 over mTLS (a certificate issued from a CSR for
    spiffe://…/ns/default/sa/slow), hello sent; the connection's receive window is `window`
    bytes and nothing is ever read past it."""
    import socket
    import ssl

    import h2.config
    import h2.connection
    import h2.settings

    from control_plane import csr_body, make_csr, make_key
    key = make_key(tmp_path, name="slow-key.pem")
    status, answer = control.post_csr(control.token(sa="slow"), csr_body(make_csr(tmp_path, key)))
    assert status == 200, answer
    (tmp_path / "slow.pem").write_text(answer["certificate"] + answer["chain"])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the control plane's identity is test_ca's concern
    ctx.load_cert_chain(str(tmp_path / "slow.pem"), str(key))
    ctx.set_alpn_protocols(["h2"])
    sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", control.listen), timeout=10))
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.local_settings = h2.settings.Settings(
        client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
    conn.initiate_connection()
    conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(":method", "POST"), (":scheme", "https"), (":path", "/v1/stream"),
                            (":authority", f"127.0.0.1:{control.listen}"),
                            ("content-type", "application/x-ndjson")])
    hello = {"type": "hello", "node": {"service": "slow", "namespace": "default",
                                       "address": "127.0.0.1:9", "egress": []},
             "version": "", "held": {}}
    conn.send_data(sid, (json.dumps(hello) + "\n").encode())
    sock.sendall(conn.data_to_send())
    return sock


def test_a_proxy_that_never_reads_is_cut_off_and_delays_no_one(tmp_path, fleet):
    # Enough resources in its scope that the first update alone overflows its 1 KiB window and
    # the 64 KiB weft-control queues per stream: the session's writer is stuck on it.
    services = "".join(
        f"---\napiVersion: weft.dev/v1alpha1\nkind: Service\nmetadata: {{name: filler-{i}}}\n"
        f"spec: {{port: 80}}\n" for i in range(1000))
    assert fleet.control.weftctl("apply", "-f", "-", input=services).returncode == 0
    assert fleet.synced(3)
    sock = h2_stream(fleet.control, tmp_path, window=1024)
    try:
        def four():
            return len(fleet.proxies_json()["proxies"]) == 4
        assert M.wait_until(four, 10, 0.1)
        # The others follow a split at once while the slow one sits on its first update.
        assert fleet.control.weftctl("split", "reviews", "v1=0", "v2=100").returncode == 0
        others = lambda: [p for p in fleet.proxies_json()["proxies"]  # noqa: E731
                          if p.get("service") != "slow"]
        doc_version = lambda: fleet.proxies_json()["version"]  # noqa: E731
        assert M.wait_until(lambda: all(p["status"] == "SYNCED" and p["version"] == doc_version()
                                        for p in others()), 10, 0.1), fleet.proxies_json()
        assert fleet.versions(20) == {"v1": 0, "v2": 20}
        slow = [p for p in fleet.proxies_json()["proxies"] if p.get("service") == "slow"]
        assert slow and slow[0]["status"] == "STALE", slow
        # It does not answer HTTP/2 PINGs either: cut off within 15 s (keepalive), at most 30 s
        # (the stream's read timeout); the rest stay connected.
        assert M.wait_until(lambda: not four(), 45, 0.5), fleet.proxies_json()
        assert metric(fleet.control.metrics(), "control_streams_cut_off_total") == 1
        assert len(fleet.proxies_json()["proxies"]) == 3
    finally:
        sock.close()
