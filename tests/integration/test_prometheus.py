"""deploy/prometheus and deploy/grafana against the real thing (issue #18): promtool checks and
unit-tests the rules; a real Prometheus server runs deploy/prometheus/prometheus.yml — its
relabelling as written, with the pods' Kubernetes metadata fed through file_sd in place of the
API server, which cannot run here — scraping weft-control and three dynamic proxies (web ->
reviews v1/v2) under traffic; and every query of the Grafana dashboard returns series."""

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

import mesh as M
from test_push import Fleet, Load

DEPLOY = M.REPO / "deploy"
RULES = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120)


def test_the_rules_pass_promtool_check_and_their_unit_tests():
    p = promtool("check", "rules", *map(str, RULES))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "SUCCESS: 10 rules found" in p.stdout and "SUCCESS: 4 rules found" in p.stdout, p.stdout
    tests = sorted((DEPLOY / "prometheus" / "tests").glob("*.yml"))
    assert tests
    p = promtool("test", "rules", *map(str, tests))
    assert p.returncode == 0, p.stdout + p.stderr


def local_config(tmp_path: Path, sd_files: dict[str, Path]) -> Path:
    """deploy/prometheus/prometheus.yml with each job's kubernetes_sd_configs replaced by a
    file_sd file (Debian's Prometheus is built without Kubernetes discovery, and no API server
    can run here), 1 s intervals, and the rule files by absolute path. The relabel rules are
    untouched: they see the same __meta_kubernetes_* labels the API server would give."""
    cfg = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    cfg["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    cfg["rule_files"] = [str(DEPLOY / "prometheus" / f) for f in cfg["rule_files"]]
    for job in cfg["scrape_configs"]:
        assert "kubernetes_sd_configs" in job, job["job_name"]
        del job["kubernetes_sd_configs"]
        job["file_sd_configs"] = [{"files": [str(sd_files[job["job_name"]])]}]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def pod(address: str, name: str, container: str, **meta: str) -> dict:
    labels = {"__meta_kubernetes_namespace": "default", "__meta_kubernetes_pod_name": name,
              "__meta_kubernetes_pod_container_name": container}
    labels.update({f"__meta_kubernetes_pod_{k}": v for k, v in meta.items()})
    return {"targets": [address], "labels": labels}


class Prometheus:
    def __init__(self, tmp_path: Path, config: Path):
        self.port = M.free_port()
        self.log = open(tmp_path / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        assert M.wait_until(lambda: self.ready(), 30, 0.2), "prometheus never became ready"

    def ready(self) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1)
            return True
        except OSError:
            return False

    def api(self, path: str, **params) -> dict:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        doc = json.loads(urllib.request.urlopen(url, timeout=10).read())
        assert doc["status"] == "success", doc
        return doc["data"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def dashboard_queries() -> list[tuple[str, str]]:
    doc = json.loads((DEPLOY / "grafana" / "weft-mesh.json").read_text())
    out = []
    for panel in doc["panels"]:
        for target in panel.get("targets", []):
            out.append((panel["title"], target["expr"]))
    return out


def stat_service(fleet, prom):
    """weftctl stat service reviews: one row per subset of the route, from the real Prometheus."""
    url = f"http://127.0.0.1:{prom.port}"
    p = fleet.control.weftctl("stat", "service", "reviews", "--prometheus", url, "-o", "json")
    assert p.returncode == 0, p
    rows = json.loads(p.stdout)["rows"]
    assert sorted((r["dst_subset"], r["route"]) for r in rows) == \
        [("v1", "reviews"), ("v2", "reviews")], rows
    for r in rows:
        assert r["requestsPerSecond"] > 0 and r["successRate"] == 1.0, r
        assert 0 < r["latencyMsp50"] <= r["latencyMsp95"] <= r["latencyMsp99"], r
    table = fleet.control.weftctl("stat", "svc/reviews", "--prometheus", url)
    assert table.returncode == 0, table
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["SUBSET", "ROUTE", "SUCCESS", "RPS", "LATENCY_P50",
                                "LATENCY_P95", "LATENCY_P99"], lines
    assert [line.split()[:3] for line in lines[1:]] == [["v1", "reviews", "100.00%"],
                                                         ["v2", "reviews", "100.00%"]], lines


def stat_deploy(fleet, prom):
    """weftctl stat deploy/web: the Services web's pods call. Bad input says what is wrong."""
    url = f"http://127.0.0.1:{prom.port}"
    p = fleet.control.weftctl("stat", "deploy/web", "--prometheus", url, "-o", "json")
    assert p.returncode == 0, p
    rows = json.loads(p.stdout)["rows"]
    assert {r["dst_service"] for r in rows} == {"reviews.default"}, rows
    p = fleet.control.weftctl("stat", "pod/web", "--prometheus", url)
    assert p.returncode == 2 and "unknown kind 'pod'" in p.stderr, p
    p = fleet.control.weftctl("stat", "service", "reviews", "--window", "10m")
    assert p.returncode == 2 and "at most 5m when reading the proxies" in p.stderr, p
    p = fleet.control.weftctl("stat", "service", "reviews", "--prometheus",
                              f"http://127.0.0.1:{M.free_port()}")
    assert p.returncode == 3, p


def stat_from_proxies(fleet):
    """Without --prometheus: the proxies weft-control lists, their own /metrics read 2 s apart,
    give the same rows (the load runs meanwhile)."""
    p = fleet.control.weftctl("stat", "service", "reviews", "--window", "2s", "-o", "json")
    assert p.returncode == 0, p
    doc = json.loads(p.stdout)
    assert doc["source"] == "3 proxies' /metrics", doc
    rows = doc["rows"]
    assert sorted((r["dst_subset"], r["route"]) for r in rows) == \
        [("v1", "reviews"), ("v2", "reviews")], rows
    for r in rows:
        assert r["requestsPerSecond"] > 0 and r["successRate"] == 1.0, r
        assert 0 < r["latencyMsp50"] <= r["latencyMsp95"] <= r["latencyMsp99"], r
    p = fleet.control.weftctl("stat", "deploy/web", "--window", "1s", "-o", "json")
    assert p.returncode == 0, p
    doc = json.loads(p.stdout)
    assert doc["source"] == "1 proxies' /metrics", doc
    assert {r["dst_service"] for r in doc["rows"]} == {"reviews.default"}, doc
    p = fleet.control.weftctl("stat", "deploy/nobody", "--window", "1s")
    assert p.returncode != 0 and "no proxy of nobody in namespace default" in p.stderr, p


def test_prometheus_scrapes_the_mesh_and_every_dashboard_query_returns_series(tmp_path,
                                                                            proxies):
    if shutil.which("prometheus") is None:
        pytest.fail("prometheus is not installed: apt-get install prometheus")
    fleet = Fleet(tmp_path, proxies).start()
    try:
        meshed = [fleet.web, *fleet.reviews.values()]
        sd_proxy = tmp_path / "sd-proxies.json"
        sd_proxy.write_text(json.dumps(
            [pod(f"127.0.0.1:{p.inbound}", p.name, "weft-proxy",
                 annotation_prometheus_io_scrape="true",
                 annotation_prometheus_io_port=str(p.admin),
                 annotation_prometheus_io_path="/metrics", label_app=p.service)
             for p in meshed] +
            # The app container of a pod, and a pod without the annotation: not scraped.
            [pod("127.0.0.1:9", "reviews-v1", "app", annotation_prometheus_io_scrape="true",
                 annotation_prometheus_io_port="9"),
             pod("127.0.0.1:9", "batch-job", "weft-proxy")]))
        sd_control = tmp_path / "sd-control.json"
        sd_control.write_text(json.dumps([
            {"targets": [f"127.0.0.1:{fleet.control.admin}"],
             "labels": {"__meta_kubernetes_pod_label_app": "weft-control",
                        "__meta_kubernetes_pod_container_port_name": "admin",
                        "__meta_kubernetes_pod_name": "weft-control-0"}},
            {"targets": [f"127.0.0.1:{fleet.control.listen}"],
             "labels": {"__meta_kubernetes_pod_label_app": "weft-control",
                        "__meta_kubernetes_pod_container_port_name": "grpc",
                        "__meta_kubernetes_pod_name": "weft-control-0"}}]))
        config = local_config(tmp_path, {"weft-proxy": sd_proxy, "weft-control": sd_control})
        p = promtool("check", "config", str(config))
        assert p.returncode == 0, p.stdout + p.stderr
        prom = Prometheus(tmp_path, config)
        try:
            with Load(fleet.web, limit=20000, seconds=90) as load:
                def targets_up():
                    active = prom.api("targets")["activeTargets"]
                    return len(active) == 4 and all(t["health"] == "up" for t in active)
                assert M.wait_until(targets_up, 30, 0.5), prom.api("targets")["activeTargets"]
                active = prom.api("targets")["activeTargets"]
                scraped = sorted((t["labels"]["job"], t["labels"]["pod"],
                                  t["scrapeUrl"].rsplit(":", 1)[1]) for t in active)
                assert scraped == sorted(
                    [("weft-proxy", p.name, f"{p.admin}/metrics") for p in meshed] +
                    [("weft-control", "weft-control-0", f"{fleet.control.admin}/metrics")]), scraped
                # A canary shift, so the control plane pushes and the proxies ACK.
                assert fleet.control.weftctl("split", "reviews", "v1=50", "v2=50").returncode == 0
                queries = [(title, expr.replace("$service", "reviews.default")
                            .replace("$__rate_interval", "1m"))
                           for title, expr in dashboard_queries()]
                assert len(queries) == 26
                empty = list(queries)
                deadline = time.monotonic() + 60
                while empty and time.monotonic() < deadline:
                    empty = [(t, q) for t, q in empty if not prom.api("query", query=q)["result"]]
                    time.sleep(1)
                assert empty == [], empty
                stat_service(fleet, prom)
                stat_deploy(fleet, prom)
            assert load.failures == [], load.failures[:5]
            with Load(fleet.web, limit=20000, seconds=30) as load:
                stat_from_proxies(fleet)
            assert load.failures == [], load.failures[:5]
            # The recorded success rate of reviews is 100% per subset: it is the traffic's.
            rate = prom.api("query", query='dst_service_subset_route:response_total:'
                            'success_ratio_rate1m{dst_service="reviews.default"}')["result"]
            assert {r["metric"]["dst_subset"] for r in rate} == {"v1", "v2"}, rate
            assert all(float(r["value"][1]) == 1.0 for r in rate), rate
        finally:
            prom.stop()
    finally:
        fleet.control.stop()
