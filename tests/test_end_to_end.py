"""The whole chain on real binaries, shortened to seconds: series -> score -> Prometheus alert ->
Alertmanager notification -> receiver incident with root cause -> recorded (dry-run) action.
Then every dashboard panel query must return data from that Prometheus."""

from __future__ import annotations

import json
import time

import pytest
import requests
from test_grafana_and_deploy import dashboards, panel_exprs, substitute

from devstack.stack import Stack, StackSettings

pytestmark = pytest.mark.integration  # starts real binaries

FAST = StackSettings(for_duration="10s", scrape_interval="2s", exporter_interval="2s", step="15s", history_days=4,
                     fault_after=20, group_wait="1s", group_interval="2s")
ANOMALY_ALERT = "AIOpsAnomalyDetected"  # other incidents (the suite's own health alerts) may open meanwhile


def wait_for(what: str, probe, timeout: float = 240.0, stack: Stack | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = probe()
        except (requests.RequestException, KeyError, IndexError):
            value = None
        if value:
            return value
        time.sleep(1)
    logs = "\n".join(f"--- {p.process.name if hasattr(p, 'process') and p.process else getattr(p, 'name', p)}:\n"
                     f"{(p.process if hasattr(p, 'process') else p).log_tail(20)}" for p in (stack.started if stack else []))
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    chain = Stack(tmp_path_factory.mktemp("e2e"), FAST).start(say=lambda *_: None)
    yield chain
    chain.stop()


@pytest.fixture(scope="module")
def chain(stack):
    """Walk the chain once, link by link; each link's evidence is kept for the tests."""
    evidence = {}
    evidence["score"] = wait_for("the exporter to score payments-db above 1",
                                 lambda: stack.scores().get("payments-db", 0) > 1 and stack.scores(), stack=stack)
    evidence["alert"] = wait_for("Prometheus to fire AIOpsAnomalyDetected",
                                 lambda: [a for a in stack.firing_alerts() if a["metric"].get("service") == "payments-db"],
                                 stack=stack)
    evidence["notification"] = wait_for("Alertmanager to hold the alert", stack.alertmanager_alerts, stack=stack)
    evidence["incident"] = wait_for(
        "the receiver to open an incident with a root cause",
        lambda: [i for i in stack.incidents() if i["probable_root_cause"] and i["title"].startswith(ANOMALY_ALERT)],
        stack=stack)[0]
    evidence["action"] = wait_for("the dry-run action to be recorded",
                                  lambda: [a for a in stack.actions() if a["status"] == "dry_run"], stack=stack)[0]
    response = requests.post(f"{stack.receiver.url}/api/v1/incidents/{evidence['incident']['id']}/feedback",
                             json={"verdict": "false_positive", "comment": "e2e"}, timeout=10)
    response.raise_for_status()
    evidence["multiplier"] = wait_for(
        "Prometheus to hold the feedback multiplier of payments-db",
        lambda: stack.prometheus.query('aiops_sensitivity_multiplier{service="payments-db"}'), stack=stack)
    return evidence


def test_the_exporter_scores_the_failing_database_above_one(chain, stack):
    assert chain["score"]["payments-db"] > 1
    assert time.time() >= stack.fault_at


def test_prometheus_fires_the_anomaly_alert_carrying_the_source_labels(chain):
    labels = chain["alert"][0]["metric"]
    assert labels["aiops_query"] == "cpu" and labels["source_metric"] == "demo_cpu_usage"
    assert labels["severity"] == "warning"


def test_alertmanager_holds_the_alert_with_the_score_annotation(chain):
    alert = [a for a in chain["notification"] if a["labels"].get("service") == "payments-db"][0]
    assert float(alert["annotations"]["anomaly_score"]) > 1


def test_the_receiver_opens_an_incident_led_by_the_database_with_a_priority(chain, stack):
    incident = chain["incident"]
    assert incident["probable_root_cause"]["service"] == "payments-db"
    assert incident["priority"] in ("P1", "P2", "P3", "P4")
    detail = stack.incident(incident["id"])
    assert detail["summary"] and "payments-db" in detail["summary"]
    assert all(a["join_reason"] for a in detail["alerts"])


def test_the_automation_records_a_dry_run_action_for_the_incident(chain):
    action = chain["action"]
    assert action["rule"] == "restart-on-anomaly" and action["action_type"] == "command"
    assert action["context"]["alert"]["labels"]["alertname"] == "AIOpsAnomalyDetected"


def test_a_false_positive_verdict_reaches_the_exporter_as_a_wider_band_for_the_alerting_series(chain):
    (series,) = chain["multiplier"]
    assert abs(float(series["value"][1]) - 2.0) < 1e-3  # widen_factor 2, decaying over days
    assert series["metric"]["aiops_query"] == "cpu" and series["metric"]["service"] == "payments-db"


def test_every_dashboard_panel_query_returns_data_from_the_live_prometheus(chain, stack):
    time.sleep(5)  # a few more scrapes so rate() windows hold two samples
    empty = []
    for name, board in dashboards().items():
        for expr in panel_exprs(board):
            result = requests.get(f"{stack.prometheus.url}/api/v1/query", params={"query": substitute(expr)},
                                  timeout=10).json()
            assert result["status"] == "success", (name, expr, result)
            if not result["data"]["result"]:
                empty.append(f"{name}: {expr}")
    assert not empty, "panels without data:\n" + "\n".join(empty)
    print(json.dumps({k: str(v)[:200] for k, v in chain.items()}, indent=1))
