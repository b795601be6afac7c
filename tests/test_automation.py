"""Safe automation and ChatOps: rules, safety, durable queue, Slack, Grafana, Alertmanager silences."""

from __future__ import annotations

import json
import sys
import uuid

import pytest
import requests
from amhelpers import T0, am_alert, payload
from fakes import Recorder

from alertmanager_receiver.automation.worker import Worker
from alertmanager_receiver.context import receiver_of
from exporter.config import ConfigError

TOPOLOGY = {"checkout": {"depends_on": ["payments"], "criticality": "high"}, "payments": {"depends_on": ["payments-db"]}}


@pytest.fixture
def recorder():
    rec = Recorder()
    yield rec
    rec.close()


@pytest.fixture
def receiver_with(receiver_app, sqlite_url):
    """receiver_with(automation config, **other keys) -> (app, client, worker) on one SQLite file per test."""

    def make(automation: dict, **extra):
        made = receiver_app({"storage": {"url": sqlite_url}, "topology": TOPOLOGY,
                             "correlation": {"quiet_period": "1m"}, "automation": automation, **extra})
        return made.app, made.client, Worker(made.receiver)

    return make


def fire(client, labels: dict, start=T0, status="firing", group="g"):
    alert = am_alert({"alertname": "HighLatency", "severity": "critical", **labels}, start, status,
                     ends_at=start + 60 if status == "resolved" else None)
    response = client.post("/webhook/alertmanager", json=payload([alert], group_key=group))
    assert response.status_code == 200, response.json
    return response.json


def actions(client, **params):
    return client.get("/api/v1/actions", query_string={"limit": 1000, **params}).json["actions"]


def command_rule(argv, **extra):
    return {"name": "run-script", "actions": [{"type": "command", "argv": argv}], **extra}


@pytest.mark.integration
def test_label_values_with_shell_syntax_reach_a_command_only_as_environment_data(tmp_path, receiver_with):
    out = tmp_path / "seen.json"
    script = tmp_path / "record.py"
    script.write_text("import json, os, sys\n"
                      f"json.dump({{'argv': sys.argv[1:], 'env': {{k: v for k, v in os.environ.items() "
                      f"if k.startswith('AIOPS_')}}}}, open({str(out)!r}, 'w'))\n")
    pwned = tmp_path / f"pwned-{uuid.uuid4().hex}"
    app, client, worker = receiver_with({"mode": "live", "rules": [
        command_rule([sys.executable, str(script), "--fixed", "{{ alert.labels.service }}"])]})
    hostile = {"service": f"$(touch {pwned})", "instance": "; curl x", "team": "`id` && echo {{7*7}}"}
    fire(client, hostile)
    assert worker.drain() >= 1
    seen = json.loads(out.read_text())
    assert seen["argv"] == ["--fixed", "{{ alert.labels.service }}"]  # argv is never templated or interpolated
    assert seen["env"]["AIOPS_LABEL_SERVICE"] == hostile["service"]
    assert seen["env"]["AIOPS_LABEL_INSTANCE"] == "; curl x"
    assert seen["env"]["AIOPS_LABEL_TEAM"] == hostile["team"]
    assert not pwned.exists()
    done = actions(client, rule="run-script")[0]
    assert done["status"] == "succeeded" and done["result"]["exit_code"] == 0


def test_a_webhook_to_a_host_outside_the_allowlist_is_refused_at_load_with_the_key(receiver_with):
    rule = {"name": "hook", "actions": [{"type": "webhook", "url": "http://evil.example.net/x"}]}
    with pytest.raises(ConfigError, match=r"automation.rules\[0\].actions\[0\].url: host 'evil.example.net' is not"):
        receiver_with({"webhook_allowlist": ["127.0.0.1"], "rules": [rule]})


def test_a_thousand_triggering_alerts_respect_cooldown_and_budget_exactly(receiver_with, clock):
    rule = command_rule(["true"], cooldown="60s", budget={"per_hour": 5})
    app, client, _ = receiver_with({"mode": "dry-run", "rules": [rule]})
    for batch in range(100):
        alerts = [am_alert({"alertname": "HighLatency", "service": "payments", "pod": f"p{batch}-{i}"},
                           clock.now) for i in range(10)]
        assert client.post("/webhook/alertmanager", json=payload(alerts, group_key=f"g{batch}")).status_code == 200
        clock.advance(10)
    rows = actions(client, rule="run-script")
    assert len(rows) == 1000
    ran = sorted(r["created_at"] for r in rows if r["status"] == "dry_run")
    assert len(ran) == 5
    assert [b - a for a, b in zip(ran, ran[1:])] == [60.0] * 4  # exactly the cooldown apart
    reasons = {r["reason"].split(":")[0] for r in rows if r["status"] == "skipped"}
    assert reasons == {"cooldown", "budget"}
    text = client.get("/metrics").get_data(as_text=True)
    assert 'aiops_receiver_actions_total{action="command",result="dry_run",rule="run-script"} 5.0' in text


def test_the_breaker_opens_past_its_limit_stops_actions_posts_a_notice_and_resets_through_the_api(recorder, receiver_with):
    rule = {"name": "hook", "actions": [{"type": "webhook", "url": f"{recorder.url}/hook"}]}
    app, client, worker = receiver_with({
        "mode": "live", "webhook_allowlist": ["127.0.0.1"], "breaker": {"max_actions": 3, "window": "10m"},
        "rules": [rule], "chatops": {"slack": {"api_url": f"{recorder.url}/api", "token": "xoxb-t", "channel": "#ops"}}})
    for i in range(5):
        fire(client, {"service": "payments", "pod": f"p{i}"}, group=f"g{i}")
    statuses = [r["status"] for r in sorted(actions(client, rule="hook"), key=lambda r: r["id"])]
    assert statuses == ["pending"] * 3 + ["skipped"] * 2
    assert client.get("/api/v1/automation").json["breaker_open"] is True
    assert "aiops_receiver_automation_breaker_open 1.0" in client.get("/metrics").get_data(as_text=True)
    worker.drain()
    assert len(recorder.calls("/hook")) == 3
    notices = [c for c in recorder.calls("/chat.postMessage") if "circuit breaker" in c["body"]["text"]]
    assert len(notices) == 1
    assert client.post("/api/v1/automation/breaker/reset", json={"by": "alice"}).status_code == 200
    assert client.get("/api/v1/automation").json["breaker_open"] is False


def test_dry_run_runs_nothing_and_records_every_decision(tmp_path, receiver_with):
    marker = tmp_path / "ran"
    app, client, worker = receiver_with({"rules": [command_rule(["touch", str(marker)])]})  # dry-run by default
    fire(client, {"service": "payments"})
    worker.drain()
    assert not marker.exists()
    row = actions(client, rule="run-script")[0]
    assert row["status"] == "dry_run" and "dry-run" in row["reason"]
    assert row["context"]["alert"]["labels"]["service"] == "payments"


def test_an_action_needing_approval_waits_runs_once_approved_and_expires_otherwise(recorder, receiver_with, clock):
    rule = {"name": "restart", "require_approval": True, "actions": [{"type": "webhook", "url": f"{recorder.url}/r"}]}
    app, client, worker = receiver_with({"mode": "live", "webhook_allowlist": ["127.0.0.1"], "rules": [rule],
                                          "approval_timeout": "10m"})
    fire(client, {"service": "payments"}, group="a")
    worker.drain()
    first = actions(client, rule="restart")[0]
    assert first["status"] == "awaiting_approval" and not recorder.calls("/r")
    assert client.post(f"/api/v1/actions/{first['id']}/approve", json={"by": "bob"}).status_code == 200
    worker.drain()
    assert len(recorder.calls("/r")) == 1
    assert client.post(f"/api/v1/actions/{first['id']}/approve").status_code == 409
    fire(client, {"service": "cart"}, group="b")
    clock.advance(601)
    worker.drain()
    second = [a for a in actions(client, rule="restart") if a["id"] != first["id"]][0]
    assert second["status"] == "expired" and len(recorder.calls("/r")) == 1


def test_a_restart_with_pending_actions_runs_each_exactly_once(recorder, receiver_with):
    automation = {"mode": "live", "webhook_allowlist": ["127.0.0.1"],
                  "rules": [{"name": "hook", "actions": [{"type": "webhook", "url": f"{recorder.url}/h",
                                                          "body": '{"incident": {{ incident.id }}}'}]}]}
    app, client, _ = receiver_with(automation)
    for i in range(3):
        fire(client, {"service": "payments", "pod": f"p{i}"}, group=f"g{i}")
    receiver_of(app).store.dispose()  # the process dies before its worker ran anything
    app2, client2, worker2 = receiver_with(automation)
    worker2.recover()
    assert worker2.drain() == 3
    assert worker2.drain() == 0
    calls = recorder.calls("/h")
    assert len(calls) == 3
    assert len({c["headers"]["X-AIOps-Action-Id"] for c in calls}) == 3
    assert all(c["body"] == {"incident": 1} for c in calls)


def test_slack_gets_one_message_per_incident_updated_not_reposted_and_grafana_an_annotation(recorder, receiver_with, clock):
    app, client, worker = receiver_with({
        "chatops": {"slack": {"api_url": f"{recorder.url}/api", "token": "xoxb-secret", "channel": "#incidents"},
                    "grafana_dashboard_url": "http://grafana/d/aiops-overview", "alertmanager_url": "http://am:9093"},
        "grafana": {"url": recorder.url, "token": "glsa_t", "dashboard_uid": "aiops-incidents"}})
    fire(client, {"service": "payments-db", "anomaly_score": "3.4"}, start=T0 - 180, group="db")
    fire(client, {"service": "checkout"}, start=T0, group="co")
    worker.drain()
    posts, updates = recorder.calls("/chat.postMessage"), recorder.calls("/chat.update")
    assert len(posts) == 1 and posts[0]["headers"]["Authorization"] == "Bearer xoxb-secret"
    body = posts[0]["body"]
    assert body["channel"] == "#incidents"
    assert "[P1]" in body["text"]  # critical +3, 2 services +1, checkout high +2, score 3.4 +1
    assert "Probable root cause:* payments-db" in json.dumps(body["blocks"])
    assert "http://grafana/d/aiops-overview" in json.dumps(body["blocks"])
    annotation = recorder.calls("/api/annotations")[0]["body"]
    assert set(annotation["tags"]) >= {"aiops", "payments-db", "checkout"}
    clock.advance(30)
    assert client.post("/api/v1/incidents/1/resolve", json={"by": "alice"}).status_code == 200
    worker.drain()
    assert len(recorder.calls("/chat.postMessage")) == 1
    updates = recorder.calls("/chat.update")
    assert updates and updates[-1]["body"]["ts"] == "1800000000.000100" and "RESOLVED" in updates[-1]["body"]["text"]
    patch = [c for c in recorder.calls("/api/annotations/17") if c["method"] == "PATCH"]
    assert patch and patch[-1]["body"]["timeEnd"] == int(clock.now * 1000)


def test_the_incident_api_returns_a_plain_language_summary(receiver_with):
    app, client, _ = receiver_with({})
    fire(client, {"service": "payments-db", "alertname": "DBSaturated"}, start=T0 - 180, group="db")
    fire(client, {"service": "checkout", "alertname": "AIOpsAnomalyDetected", "source_metric": "latency",
                  "anomaly_score": "3.4"}, start=T0, group="co")
    summary = client.get("/api/v1/incidents/1").json["summary"]
    assert summary.startswith("checkout latency is anomalous since")
    assert "(score 3.4)" in summary
    assert "Probable cause: payments-db DBSaturated, which started 3 minutes earlier" in summary


@pytest.mark.integration
def test_silences_reach_a_real_alertmanager_and_expire_when_the_incident_resolves(tmp_path, receiver_with):
    from devstack.alertmanager import Alertmanager, webhook_config
    from devstack.procs import free_port

    am = Alertmanager(tmp_path / "am", webhook_config(f"http://127.0.0.1:{free_port()}/none", ["alertname"])).start()
    try:
        rule = {"name": "quiet", "actions": [{"type": "silence", "duration": "2h", "comment": "known maintenance",
                                              "match_labels": ["alertname", "service"]}]}
        app, client, worker = receiver_with({"mode": "live", "rules": [rule]}, alertmanager={"url": am.url})
        fire(client, {"service": "payments"})
        worker.drain()
        silences = requests.get(f"{am.url}/api/v2/silences", timeout=10).json()
        active = [s for s in silences if s["status"]["state"] == "active"]
        assert len(active) == 1
        assert {(m["name"], m["value"]) for m in active[0]["matchers"]} == {("alertname", "HighLatency"),
                                                                           ("service", "payments")}
        assert "known maintenance" in active[0]["comment"]
        client.post("/api/v1/incidents/1/resolve", json={})
        worker.drain()
        states = {s["id"]: s["status"]["state"] for s in requests.get(f"{am.url}/api/v2/silences", timeout=10).json()}
        assert states[active[0]["id"]] == "expired"
    finally:
        am.stop()


def test_a_rules_concurrency_limit_holds_its_next_action_while_one_is_running(receiver_with):
    from alertmanager_receiver.automation.queue import claim_next

    app, client, _ = receiver_with({"mode": "live", "rules": [command_rule(["true"], concurrency=1)]})
    fire(client, {"service": "payments", "pod": "a"}, group="a")
    fire(client, {"service": "payments", "pod": "b"}, group="b")
    receiver = receiver_of(app)
    with receiver.store.write() as conn:
        first = claim_next(conn, receiver.config.automation, T0)
        assert first is not None
        assert claim_next(conn, receiver.config.automation, T0) is None  # the second waits for the first


def test_a_merged_incident_gets_its_message_updated_not_reposted_and_its_annotation_closed(recorder, receiver_app,
                                                                                         sqlite_url, clock):
    made = receiver_app({"storage": {"url": sqlite_url}, "topology": {"api": {"depends_on": ["db"]},
                                                                      "worker": {"depends_on": ["db"]}},
                         "automation": {"chatops": {"slack": {"api_url": f"{recorder.url}/api", "token": "xoxb-t",
                                                              "channel": "#ops"}},
                                        "grafana": {"url": recorder.url, "token": "glsa_t"}}})
    client, worker = made.client, Worker(made.receiver)
    fire(client, {"service": "api"}, start=T0, group="a")
    fire(client, {"service": "worker"}, start=T0 + 10, group="w")
    worker.drain()  # each incident has its message and its annotation
    assert len(recorder.calls("/chat.postMessage")) == 2 and len(recorder.calls("/api/annotations")) == 2
    clock.advance(300)
    fire(client, {"service": "db"}, start=T0 + 200, group="d")  # the late root cause links both
    worker.drain()
    assert len(recorder.calls("/chat.postMessage")) == 2  # nothing reposted
    updates = [c["body"]["text"] for c in recorder.calls("/chat.update")]
    assert any("[MERGED INTO #1] #2" in text for text in updates)
    closed = [c for c in recorder.calls() if c["path"].startswith("/api/annotations/") and c["method"] == "PATCH"
              and "timeEnd" in c["body"]]
    assert closed and closed[-1]["body"]["timeEnd"] == int(clock.now * 1000)
