"""Topology discovery and metric evidence against a real Prometheus holding service-graph counters and scores.

The shop: frontend -> checkout -> payments -> payments-db, checkout -> cart. Payments degrades first
(silent: no alert of its own), checkout follows, then the frontend's SLO alert fires; payments-db and
cart stay normal. The receiver is given no topology: it reads the call graph from Prometheus.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import requests
from amhelpers import am_alert, payload, post
from conftest import Clock

from alertmanager_receiver.discovery import TopologyDiscovery
from alertmanager_receiver.investigation import compute_incident_evidence
from alertmanager_receiver.prom import PrometheusError
from devstack.procs import free_port
from devstack.prometheus import Prometheus, backfill
from devstack.receiver import ReceiverProcess

pytestmark = pytest.mark.integration  # a real Prometheus

EDGES = [("frontend", "checkout"), ("checkout", "payments"), ("checkout", "cart"), ("payments", "payments-db")]
GRAPH_QUERY = "sum by (client, server) (rate(traces_service_graph_request_total[1h])) > 0"
NOW = (time.time() // 60) * 60
ALERT_AT = NOW - 300


def score_series(service: str, times: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(abs(hash(service)) % 2**32)
    values = 0.3 + 0.2 * rng.random(len(times))
    onset = {"payments": NOW - 900, "checkout": NOW - 600, "frontend": NOW - 300}.get(service)
    if onset is not None:
        values[times >= onset] = {"payments": 8.0, "checkout": 5.0, "frontend": 4.0}[service]
    return values


@pytest.fixture(scope="module")
def shop_prometheus(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("shop-prometheus")
    times = np.arange(NOW - 26 * 3600, NOW + 1, 60.0)
    lines = ["# TYPE traces_service_graph_request counter\n"]
    for client, server in EDGES:
        lines += [f'traces_service_graph_request_total{{client="{client}",server="{server}"}} {t - times[0]:.0f} '
                  f"{int(t)}\n" for t in times]
    lines.append("# TYPE aiops_anomaly_score gauge\n")
    for service in ("frontend", "checkout", "payments", "payments-db", "cart"):
        lines += [f'aiops_anomaly_score{{service="{service}",aiops_query="latency"}} {v:.3f} {int(t)}\n'
                  for t, v in zip(times, score_series(service, times))]
    (workdir / "shop.om").write_text("".join(lines) + "# EOF\n")
    prom = Prometheus(workdir)
    backfill(workdir / "shop.om", prom.data_dir)
    prom.start()
    yield prom
    prom.stop()


def config(sqlite_url: str, prometheus_url: str, **extra) -> dict:
    return {"storage": {"url": sqlite_url}, "prometheus": {"url": prometheus_url, "timeout": "10s"},
            "topology_discovery": {"refresh": "5m", "sources": [
                {"name": "tempo", "query": GRAPH_QUERY, "caller_label": "client", "callee_label": "server"}]},
            "metric_evidence": {"lookback": "30m", "step": "60s"}, **extra}


def frontend_alert(client):
    alert = am_alert({"alertname": "FrontendSLOBurn", "service": "frontend", "severity": "critical"}, ALERT_AT)
    response = post(client, payload([alert]))
    assert response.status_code == 200, response.json
    return max(response.json["incidents"])


def test_the_call_graph_is_read_from_prometheus_and_shown_with_its_source(receiver_app, sqlite_url, shop_prometheus):
    made = receiver_app(config(sqlite_url, shop_prometheus.url, topology={"frontend": {"criticality": "high"}}),
                        Clock(NOW))
    made.receiver.discovery.refresh()
    edges = made.client.get("/api/v1/topology").json
    discovered = {(e["from"], e["to"]) for e in edges["edges"] if e["source"] == "discovered"}
    assert discovered == set(EDGES) and edges["criticality"] == {"frontend": "high"}
    assert all(e["via"] == "tempo" for e in edges["edges"] if e["source"] == "discovered")
    assert edges["discovery"]["errors"] == {"tempo": 0} and edges["discovery"]["last_refresh"] is not None
    metrics = made.client.get("/metrics").get_data(as_text=True)
    assert 'aiops_receiver_topology_edges{source="discovered"} 4.0' in metrics
    assert "aiops_receiver_topology_last_refresh_timestamp_seconds" in metrics


def test_a_failing_discovery_query_is_counted_and_the_last_good_graph_is_kept(receiver_app, sqlite_url,
                                                                            shop_prometheus):
    made = receiver_app(config(sqlite_url, shop_prometheus.url), Clock(NOW))
    discovery = made.receiver.discovery
    calls = []

    def flaky(expr):
        calls.append(expr)
        if len(calls) > 1:
            raise PrometheusError("HTTP Status Code 503 (unavailable)")
        return discovery.query.__self__.instant(expr)

    flaky_discovery = TopologyDiscovery(discovery.cfg, flaky, discovery.configured, made.receiver.graphs, discovery.clock)
    flaky_discovery.refresh()
    flaky_discovery.refresh()
    assert flaky_discovery.errors == {"tempo": 1}
    assert {(e.dependent, e.dependency) for e in made.receiver.graphs.explicit.edges()} == set(EDGES)


def test_a_silent_degraded_dependency_ranks_first_with_its_evidence(receiver_app, sqlite_url, shop_prometheus):
    made = receiver_app(config(sqlite_url, shop_prometheus.url), Clock(NOW))
    made.receiver.discovery.refresh()
    incident = frontend_alert(made.client)
    compute_incident_evidence(made.receiver, incident)
    detail = made.client.get(f"/api/v1/incidents/{incident}").json
    top = detail["root_cause_candidates"][0]
    assert top["service"] == "payments" and top["alerting"] is False, detail["root_cause_candidates"]
    assert "frontend -> checkout -> payments" in top["explanation"] and "10 min before the first alert" in top["explanation"]
    assert top["evidence"]["peak"] == 8.0 and detail["metric_evidence"]["services_with_scores"] == 5
    assert "(probable cause: payments)" in detail["title"]


def test_investigating_a_service_without_an_incident_gives_the_same_candidates(receiver_app, sqlite_url,
                                                                             shop_prometheus):
    made = receiver_app(config(sqlite_url, shop_prometheus.url), Clock(NOW))
    made.receiver.discovery.refresh()
    answer = made.client.get("/api/v1/investigate", query_string={"service": "frontend", "at": str(NOW)}).json
    assert [c["service"] for c in answer["candidates"]][:2] == ["payments", "checkout"]
    assert answer["dependencies_with_scores"] == ["cart", "checkout", "payments", "payments-db"]
    assert made.client.get("/api/v1/investigate").status_code == 400
    assert made.client.get("/api/v1/investigate", query_string={"service": "x", "at": "soon"}).status_code == 400


def test_an_unreachable_prometheus_leaves_the_alert_ranking_and_records_why(receiver_app, sqlite_url):
    dead = f"http://127.0.0.1:{free_port()}"
    made = receiver_app(config(sqlite_url, dead, topology={"frontend": {"depends_on": ["checkout"]}}), Clock(NOW))
    made.receiver.discovery.refresh()  # fails: the configured topology stays
    assert made.receiver.discovery.errors == {"tempo": 1}
    incident = frontend_alert(made.client)  # ingest never waits for Prometheus
    compute_incident_evidence(made.receiver, incident)
    detail = made.client.get(f"/api/v1/incidents/{incident}").json
    assert detail["root_cause_candidates"][0]["service"] == "frontend"
    assert "ConnectionError" in detail["metric_evidence"]["error"]
    assert made.client.get("/api/v1/investigate", query_string={"service": "frontend"}).status_code == 503
    assert 'aiops_receiver_metric_evidence_total{result="error"} 1.0' in made.client.get("/metrics").get_data(as_text=True)


def test_the_receiver_process_discovers_and_ranks_in_the_background(tmp_path, shop_prometheus):
    receiver = ReceiverProcess(tmp_path / "receiver", config(f"sqlite:///{tmp_path / 'r.db'}", shop_prometheus.url)).start()
    try:
        deadline = time.monotonic() + 30
        while not any(e["source"] == "discovered" for e in receiver.get("/api/v1/topology")["edges"]):
            assert time.monotonic() < deadline, "no discovered edge"
            time.sleep(0.2)
        alert = am_alert({"alertname": "FrontendSLOBurn", "service": "frontend", "severity": "critical"}, ALERT_AT)
        requests.post(f"{receiver.url}/webhook/alertmanager", json=payload([alert]), timeout=10).raise_for_status()
        found = threading.Event()
        while time.monotonic() < deadline + 30:
            detail = receiver.get("/api/v1/incidents/1")
            if (detail.get("metric_evidence") or {}).get("computed_at"):
                found.set()
                break
            time.sleep(0.2)
        assert found.is_set(), receiver.process.log_tail()
        assert detail["root_cause_candidates"][0]["service"] == "payments"
    finally:
        receiver.stop()
