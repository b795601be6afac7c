"""The receiver behind a real Alertmanager (Debian's prometheus-alertmanager)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from devstack.alertmanager import Alertmanager, webhook_config
from devstack.procs import free_port
from devstack.receiver import ReceiverProcess

pytestmark = pytest.mark.integration  # starts real binaries

CHAIN = ["orders-db"] + [f"svc-{i:02d}" for i in range(1, 20)]  # svc-01 -> orders-db, svc-02 -> svc-01, ...


def chain_topology() -> dict:
    topology = {name: {"depends_on": [CHAIN[i - 1]]} for i, name in enumerate(CHAIN) if i}
    topology["svc-19"]["criticality"] = "high"
    return topology


def receiver_config(db_path, **extra) -> dict:
    return {"storage": {"url": f"sqlite:///{db_path}"},
            "correlation": {"group_by": ["cluster", "namespace"], "window": "10m", "service_label": "service"},
            "topology": chain_topology(), **extra}


def wait_until(predicate, timeout=90.0, what="condition", logs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n" + "\n".join(p.process.log_tail() for p in logs))


def alert_count(db_path) -> tuple[int, int]:
    engine = sa.create_engine(f"sqlite:///{db_path}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*), count(DISTINCT fingerprint || '@' || starts_at) FROM alerts")).one()
    engine.dispose()
    return rows[0], rows[1]


def storm(now: float, per_service: int = 10) -> list[dict]:
    """The database fails first; each service up the chain starts alerting a few seconds later."""
    alerts = []
    for depth, service in enumerate(CHAIN):
        for k in range(per_service):
            name = "DatabaseDown" if depth == 0 and k == 0 else f"HighErrorRate{k % 3}"
            alerts.append({
                "labels": {"alertname": name, "service": service, "instance": f"{service}-{k}",
                           "cluster": "prod", "namespace": "data" if depth == 0 else f"tier{depth % 4}",
                           "severity": "critical" if depth == 0 else "warning"},
                "annotations": {"summary": f"{service} is unhappy"},
                "startsAt": now - 300 + depth * 5 + k * 0.1})
    return alerts


@pytest.fixture
def stack(tmp_path):
    started = []

    def start(receiver_cfg: dict, receiver_port: int | None = None):
        port = receiver_port or free_port()
        receiver = ReceiverProcess(tmp_path / "receiver", receiver_cfg, port=port).start()
        started.append(receiver)
        am = Alertmanager(tmp_path / "am", webhook_config(f"http://127.0.0.1:{port}/webhook/alertmanager",
                                                          ["alertname", "service"])).start()
        started.append(am)
        return receiver, am

    yield start
    for proc in reversed(started):
        proc.stop()


def test_an_alert_storm_from_one_failing_database_folds_into_few_incidents_led_by_the_database(stack, tmp_path):
    receiver, am = stack(receiver_config(tmp_path / "r.db"))
    alerts = storm(time.time())
    assert len(alerts) == 200
    am.push(alerts)
    wait_until(lambda: sum(i["alert_count"] for i in receiver.get("/api/v1/incidents")["incidents"]) == 200,
               what="all 200 alerts in incidents", logs=[receiver])
    incidents = receiver.get("/api/v1/incidents")["incidents"]
    assert len(incidents) <= 3, [(i["id"], i["alert_count"]) for i in incidents]
    largest = max(incidents, key=lambda i: i["alert_count"])

    def ranked():  # during a storm the ranking is refreshed in the background, seconds behind ingest
        detail = receiver.get(f"/api/v1/incidents/{largest['id']}")
        top = detail["root_cause_candidates"][0]
        return detail if top["service"] == "orders-db" and detail["priority"] == "P1" else None

    detail = wait_until(ranked, timeout=30, what="the ranking led by orders-db", logs=[receiver])
    top = detail["root_cause_candidates"][0]
    assert "depend on it" in top["explanation"]
    assert detail["priority"] == "P1"
    assert all(a["join_reason"] for a in detail["alerts"])
    metrics = receiver_metrics(receiver)
    assert metrics["aiops_receiver_noise_reduction_ratio"] >= 1 - 3 / 200


def receiver_metrics(receiver) -> dict[str, float]:
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(f"{receiver.url}/metrics", timeout=10).text
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples if not s.labels}


def test_a_receiver_killed_while_alertmanager_sends_loses_nothing_and_duplicates_nothing(stack, tmp_path):
    db = tmp_path / "r.db"
    port = free_port()
    receiver, am = stack(receiver_config(db), receiver_port=port)
    now = time.time()
    first, second = storm(now, per_service=5)[:50], storm(now, per_service=5)[50:]
    am.push(first)
    wait_until(lambda: alert_count(db)[0] == 50, what="first 50 alerts", logs=[receiver])
    receiver.kill()
    am.push(second)
    time.sleep(3)  # Alertmanager tries, fails, and keeps the notifications for retry
    restarted = ReceiverProcess(tmp_path / "receiver", receiver_config(db), port=port).start()
    try:
        wait_until(lambda: alert_count(db)[0] >= 100, what="all 100 alerts after the restart", logs=[restarted])
        time.sleep(4)  # further (repeated) deliveries must not add rows
        total, distinct = alert_count(db)
        assert total == distinct == 100
    finally:
        restarted.stop()


def test_alertmanager_with_bearer_credentials_is_accepted_and_the_resolved_state_arrives(tmp_path):
    port = free_port()
    cfg = receiver_config(tmp_path / "r.db", auth={"bearer_token": "t0ken"})
    receiver = ReceiverProcess(tmp_path / "receiver", cfg, port=port, headers={"Authorization": "Bearer t0ken"}).start()
    am = Alertmanager(tmp_path / "am", webhook_config(
        f"http://127.0.0.1:{port}/webhook/alertmanager", ["alertname"],
        http_config={"authorization": {"type": "Bearer", "credentials": "t0ken"}})).start()
    try:
        now = time.time()
        alert = {"labels": {"alertname": "DiskFull", "service": "orders-db", "severity": "critical"},
                 "startsAt": now - 60}
        am.push([alert])
        wait_until(lambda: receiver.get("/api/v1/incidents")["incidents"], what="the incident", logs=[receiver])
        am.push([{**alert, "endsAt": time.time() - 1}])
        wait_until(lambda: receiver.get("/api/v1/incidents")["incidents"][0]["status"] == "resolving",
                   what="the resolved state", logs=[receiver])
    finally:
        am.stop()
        receiver.stop()


def test_reconciliation_picks_up_missed_alerts_and_closes_silenced_ones(tmp_path):
    import requests

    from alertmanager_receiver.app import create_app
    from alertmanager_receiver.config import parse_receiver_config
    from alertmanager_receiver.context import receiver_of
    from alertmanager_receiver.maintenance import Maintenance

    dead = f"http://127.0.0.1:{free_port()}/webhook/alertmanager"  # notifications never arrive
    am = Alertmanager(tmp_path / "am", webhook_config(dead, ["alertname"])).start()
    try:
        cfg = parse_receiver_config({**receiver_config(tmp_path / "r.db"),
                                     "alertmanager": {"url": am.url, "reconcile_interval": "1s"}})
        app = create_app(cfg)
        client = app.test_client()
        labels = {"alertname": "QueueStuck", "service": "svc-03", "severity": "warning"}
        am.push([{"labels": labels, "startsAt": time.time() - 30}])
        maintenance = Maintenance(receiver_of(app), stop=threading.Event())
        wait_until(lambda: (maintenance.reconcile() or True) and client.get("/api/v1/incidents").json["incidents"],
                   what="the missed alert picked up")
        silence = {"matchers": [{"name": "alertname", "value": "QueueStuck", "isRegex": False, "isEqual": True}],
                   "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z", "createdBy": "test",
                   "comment": "maintenance"}
        requests.post(f"{am.url}/api/v2/silences", json=silence, timeout=10).raise_for_status()

        def closed():
            maintenance.reconcile()
            return client.get("/api/v1/incidents/1").json["alerts"][0]["status"] == "resolved"

        wait_until(closed, what="the silenced alert closed")
    finally:
        am.stop()
