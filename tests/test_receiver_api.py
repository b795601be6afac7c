"""The receiver app (Flask test client) on a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

import base64
import json
import re
import threading

import pytest
import sqlalchemy as sa
from amhelpers import am_alert, payload, post, service_alert
from conftest import T0, count

from alertmanager_receiver.store import Store, alerts, notifications


def test_a_valid_notification_is_stored_and_becomes_an_incident(store_url, make_receiver):
    app, client = make_receiver(store_url)
    response = post(client, payload([service_alert("payments-db"), service_alert("payments", T0 + 60)]))
    assert response.status_code == 200, response.json
    assert response.json["new"] == 2
    assert count(app, alerts) == 2 and count(app, notifications) == 1
    listed = client.get("/api/v1/incidents").json["incidents"]
    assert len(listed) == 1 and listed[0]["alert_count"] == 2
    detail = client.get(f"/api/v1/incidents/{listed[0]['id']}").json
    assert detail["probable_root_cause"]["service"] == "payments-db"
    assert detail["priority"] in ("P1", "P2")
    assert [a["join_reason"] for a in detail["alerts"]][1].startswith("service payments is linked")
    assert [e["kind"] for e in detail["timeline"]][:2] == ["opened", "alert_joined"]


def test_the_same_notification_delivered_twice_is_stored_once(store_url, make_receiver):
    app, client = make_receiver(store_url)
    body = payload([service_alert("payments-db"), service_alert("cart")])
    assert post(client, body).json["new"] == 2
    again = post(client, body)
    assert again.status_code == 200 and again.json["new"] == 0 and again.json["duplicates"] == 2
    assert count(app, alerts) == 2


@pytest.mark.parametrize("body, reason", [
    (b"{not json", "invalid JSON"),
    (b"\xff\xfe\x00garbage", "invalid JSON"),
    (b"[" * 100000 + b"]" * 100000, "invalid JSON"),
    (json.dumps({"version": "4"}), "invalid Alertmanager payload"),
    (json.dumps(payload([{"status": "firing", "labels": {"a": "b"}, "startsAt": "not-a-time"}])), "RFC 3339"),
])
def test_a_malformed_notification_gets_400_with_the_reason_and_stores_nothing(store_url, body, reason, make_receiver):
    app, client = make_receiver(store_url)
    response = post(client, body)
    assert response.status_code == 400
    assert reason in response.json["error"]
    assert count(app, alerts) == 0 and count(app, notifications) == 0


def test_an_oversized_body_gets_413_and_stores_nothing(store_url, make_receiver):
    app, client = make_receiver(store_url, server={"max_body_bytes": 2048})
    big = payload([service_alert("cart", annotations={"description": "x" * 5000})])
    response = post(client, big)
    assert response.status_code == 413
    assert count(app, alerts) == 0


def test_bearer_auth_refuses_missing_or_wrong_tokens_with_401_and_stores_nothing(store_url, make_receiver):
    app, client = make_receiver(store_url, auth={"bearer_token": "s3cret"})
    body = payload([service_alert("cart")])
    assert post(client, body).status_code == 401
    assert post(client, body, Authorization="Bearer wrong").status_code == 401
    assert client.get("/api/v1/incidents").status_code == 401
    assert count(app, alerts) == 0
    assert post(client, body, Authorization="Bearer s3cret").status_code == 200
    assert count(app, alerts) == 1
    assert client.get("/healthz").status_code == 200  # probes stay open


def test_basic_auth_from_a_password_file_is_checked(store_url, tmp_path, make_receiver):
    secret = tmp_path / "password"
    secret.write_text("hunter2\n")
    app, client = make_receiver(store_url, auth={"basic_auth": {"username": "am", "password_file": str(secret)}})
    good = "Basic " + base64.b64encode(b"am:hunter2").decode()
    bad = "Basic " + base64.b64encode(b"am:hunter3").decode()
    body = payload([service_alert("cart")])
    assert post(client, body, Authorization=bad).status_code == 401
    assert post(client, body, Authorization="Basic !!notbase64").status_code == 401
    assert post(client, body, Authorization=good).status_code == 200


def test_resolved_alerts_close_and_the_incident_resolves_after_the_quiet_period(store_url, make_receiver, clock):
    app, client = make_receiver(store_url)
    firing = [service_alert("payments-db"), service_alert("payments", T0 + 30)]
    post(client, payload(firing, group_key="g1"))
    clock.advance(120)
    resolved = [service_alert("payments-db", status="resolved"), service_alert("payments", T0 + 30, status="resolved")]
    assert post(client, payload(resolved, group_key="g1")).json["resolved"] == 2
    incident = client.get("/api/v1/incidents").json["incidents"][0]
    assert incident["status"] == "resolving"
    clock.advance(400)
    post(client, payload([service_alert("unrelated", T0 + 520, cluster="x", namespace="y")], group_key="g2"))
    incident = client.get(f"/api/v1/incidents/{incident['id']}").json
    assert incident["status"] == "resolved"
    assert "resolved" in [e["kind"] for e in incident["timeline"]]


def test_an_alert_missing_from_its_groups_next_notification_is_closed(store_url, make_receiver):
    app, client = make_receiver(store_url)
    post(client, payload([service_alert("payments-db"), service_alert("payments")], group_key="g"))
    post(client, payload([service_alert("payments-db")], group_key="g"))
    detail = client.get("/api/v1/incidents/1").json
    statuses = {a["labels"]["service"]: a["status"] for a in detail["alerts"]}
    assert statuses == {"payments-db": "firing", "payments": "resolved"}
    # a truncated notification says nothing about absent alerts
    post(client, payload([], group_key="g", truncated=5))
    assert {a["status"] for a in client.get("/api/v1/incidents/1").json["alerts"]} == {"firing", "resolved"}


def test_a_recurrence_within_the_quiet_period_reopens_the_incident(store_url, make_receiver, clock):
    app, client = make_receiver(store_url)
    post(client, payload([service_alert("cart")], group_key="g"))
    clock.advance(60)
    post(client, payload([service_alert("cart", status="resolved")], group_key="g"))
    assert client.get("/api/v1/incidents/1").json["status"] == "resolving"
    clock.advance(60)
    post(client, payload([service_alert("cart", T0 + 120)], group_key="g"))
    detail = client.get("/api/v1/incidents/1").json
    assert detail["status"] == "open" and "reopened" in [e["kind"] for e in detail["timeline"]]
    assert len(client.get("/api/v1/incidents").json["incidents"]) == 1


def test_ack_resolve_and_feedback_are_recorded_and_validated(store_url, make_receiver, clock):
    app, client = make_receiver(store_url)
    post(client, payload([service_alert("cart")]))
    clock.advance(90)
    assert client.post("/api/v1/incidents/1/ack", json={"by": "alice"}).json["status"] == "acknowledged"
    assert client.post("/api/v1/incidents/99/ack").status_code == 404
    assert client.post("/api/v1/incidents/1/feedback", json={"verdict": "maybe"}).status_code == 400
    created = client.post("/api/v1/incidents/1/feedback", json={"verdict": "false_positive", "comment": "noise"})
    assert created.status_code == 201
    done = client.post("/api/v1/incidents/1/resolve", json={"by": "alice"}).json
    assert done["status"] == "resolved" and done["feedback"][0]["verdict"] == "false_positive"
    assert client.get("/api/v1/incidents?status=resolved").json["incidents"][0]["id"] == 1
    assert client.get("/api/v1/incidents?status=bogus").status_code == 400
    text = client.get("/metrics").get_data(as_text=True)
    assert "aiops_receiver_time_to_ack_seconds_count 1.0" in text
    assert "aiops_receiver_incident_duration_seconds_count 1.0" in text


def test_metrics_count_notifications_alerts_incidents_and_noise_reduction(store_url, make_receiver):
    app, client = make_receiver(store_url)
    chain = [("payments-db", "db-1"), ("payments", "p-1"), ("payments", "p-2"), ("checkout", "c-1")]  # one cascade
    post(client, payload([service_alert(s, cluster="c", namespace="n", instance=i) for s, i in chain]))
    post(client, b"nope")
    text = client.get("/metrics").get_data(as_text=True)
    for line in ('aiops_receiver_notifications_total{result="stored"} 1.0',
                 'aiops_receiver_notifications_total{result="invalid"} 1.0',
                 'aiops_receiver_alerts_total{status="firing"} 4.0', "aiops_receiver_incidents_total 1.0",
                 "aiops_receiver_noise_reduction_ratio 0.75", 'aiops_receiver_incidents_open{priority="P1"}'):
        assert line in text, line


def test_a_locked_database_gets_503_so_alertmanager_retries_and_nothing_is_half_stored(tmp_path, make_receiver):
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    app, client = make_receiver(url)
    blocker = Store(url)
    with blocker.write() as conn:  # holds the write lock for the duration
        conn.execute(sa.text("SELECT 1"))
        result = {}
        thread = threading.Thread(target=lambda: result.setdefault("r", post(client, payload([service_alert("cart")]))))
        thread.start()
        thread.join(20)
    response = result["r"]
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert count(app, alerts) == 0
    assert post(client, payload([service_alert("cart")])).status_code == 200


def test_the_openapi_document_lists_exactly_the_real_routes(store_url, make_receiver):
    app, client = make_receiver(store_url)
    doc = client.get("/openapi.json").json
    documented = {(path, method.upper()) for path, item in doc["paths"].items() for method in item}
    real = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(id:)?\w+_id>", "{id}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            real.add((path, method))
    assert documented == real


def test_feedback_since_a_time_lists_each_verdict_with_the_incidents_alerts_and_labels(store_url, make_receiver, clock):
    app, client = make_receiver(store_url)
    post(client, payload([service_alert("payments-db", aiops_query="cpu", source_metric="demo_cpu_usage")]))
    clock.advance(60)
    client.post("/api/v1/incidents/1/feedback", json={"verdict": "false_positive", "comment": "batch job"})
    clock.advance(60)
    client.post("/api/v1/incidents/1/feedback", json={"verdict": "useful"})
    everything = client.get("/api/v1/feedback").json["feedback"]
    assert [f["verdict"] for f in everything] == ["false_positive", "useful"]
    assert everything[0]["alerts"][0]["labels"]["aiops_query"] == "cpu"
    later = client.get("/api/v1/feedback", query_string={"since": T0 + 90}).json["feedback"]
    assert [f["verdict"] for f in later] == ["useful"]
    assert client.get("/api/v1/feedback", query_string={"since": "yesterday"}).status_code == 400


def test_a_database_without_the_ranking_columns_gets_them_filled_and_ranks_the_same(tmp_path, make_receiver):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    app, client = make_receiver(url)
    labels = {"alertname": "Errors", "service": "api", "severity": "critical", "instance": "api-1"}
    client.post("/webhook/alertmanager", json=payload([am_alert(labels, 1_800_000_000.0,
                                                                annotations={"anomaly_score": "4.5"})]))
    before = client.get("/api/v1/incidents/1").json
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the table as an earlier version created it
        for column in ("alertname", "severity", "service", "instance", "anomaly_score"):
            conn.exec_driver_sql(f"ALTER TABLE alerts DROP COLUMN {column}")
    engine.dispose()
    app, client = make_receiver(url)
    with Store(url).engine.connect() as conn:
        row = conn.execute(sa.select(alerts)).one()
    assert (row.alertname, row.severity, row.service, row.instance, row.anomaly_score) == \
        ("Errors", "critical", "api", "api-1", 4.5)
    after = client.get("/api/v1/incidents/1").json
    assert after["root_cause_candidates"] == before["root_cause_candidates"]
