"""Feedback loop on real processes: Prometheus, the receiver and the exporter.

Two identical series deviate by the same amount. An operator marks the
incident of one of them false positive in the receiver; after the exporter's
next cycle that series scores below 1 and the twin still above 1. The
multiplier survives an exporter restart while the receiver is down.
"""

import time

import pytest
import requests

from devstack.receiver import ReceiverProcess
from tests.amhelpers import am_alert, payload
from tests.conftest import Exporter, samples_of

NORMAL, DEVIATED = 100.0, 100.5  # flat series: the zscore band is 3.29 x 0.1 (relative scale floor) wide


pytestmark = pytest.mark.integration  # starts real binaries

def twin_config(prom_url: str, receiver_url: str, state_file) -> dict:
    return {
        "prometheus": {"url": prom_url, "timeout": "5s", "retries": 1, "backoff": "0.2s"},
        "exporter": {"interval": "1s", "series_ttl": "10m"},
        "feedback": {"url": receiver_url, "interval": "1s", "timeout": "2s", "state_file": str(state_file)},
        "queries": [{"name": "twins", "expr": 'live_queue_depth{queue=~"twin-.*"}', "model": "zscore", "step": "1s",
                     "history": "2m", "min_history": "5s", "retrain_every": "1h",
                     "params": {"level_half_life": "1h", "scale_half_life": "1d"}}],
    }


def score_of(families, queue):
    samples = samples_of(families, "aiops_anomaly_score", aiops_query="twins", queue=queue)
    return samples[0].value if samples else None


def both_scored(predicate):
    def check(families):
        a, b = score_of(families, "twin-a"), score_of(families, "twin-b")
        return a is not None and b is not None and predicate(a, b)
    return check


def test_a_false_positive_verdict_lowers_that_series_score_below_one_and_survives_a_restart(
        prometheus, live_target, tmp_path):
    for queue in ("twin-a", "twin-b"):
        live_target.gauge.labels(queue).set(NORMAL)
    time.sleep(8)  # Prometheus scrapes the flat history the model will learn
    receiver = ReceiverProcess(tmp_path / "receiver", {"storage": {"url": f"sqlite:///{tmp_path / 'r.db'}"}}).start()
    state_file = tmp_path / "exporter" / "feedback.json"
    (tmp_path / "exporter").mkdir()
    config = twin_config(prometheus.url, receiver.url, state_file)
    exporter = Exporter(tmp_path / "exporter", config).start()
    try:
        exporter.wait_for(both_scored(lambda a, b: a < 1 and b < 1), what="both twins modelled and normal")
        for queue in ("twin-a", "twin-b"):
            live_target.gauge.labels(queue).set(DEVIATED)
        families = exporter.wait_for(both_scored(lambda a, b: a > 1 and b > 1), what="both twins above 1")
        before = score_of(families, "twin-a")

        # The page, as Alertmanager delivers AIOpsAnomalyDetected for twin-a, then the operator's verdict.
        series = samples_of(families, "aiops_anomaly_score", aiops_query="twins", queue="twin-a")[0].labels
        labels = {**series, "alertname": "AIOpsAnomalyDetected", "severity": "warning", "prometheus": "prod"}
        body = payload([am_alert(labels, time.time() - 300)], group_key='{}:{alertname="AIOpsAnomalyDetected"}')
        requests.post(f"{receiver.url}/webhook/alertmanager", json=body, timeout=10).raise_for_status()
        incident = receiver.get("/api/v1/incidents")["incidents"][0]["id"]
        requests.post(f"{receiver.url}/api/v1/incidents/{incident}/feedback",
                      json={"verdict": "false_positive", "comment": "batch job, expected"}, timeout=10).raise_for_status()

        families = exporter.wait_for(both_scored(lambda a, b: a < 1 < b), what="twin-a below 1, twin-b above 1")
        assert score_of(families, "twin-a") < before
        multiplier = samples_of(families, "aiops_sensitivity_multiplier", queue="twin-a")
        assert [s.value for s in multiplier] == [2.0] or abs(multiplier[0].value - 2.0) < 1e-3
        assert not samples_of(families, "aiops_sensitivity_multiplier", queue="twin-b")
        assert samples_of(families, "aiops_exporter_feedback_verdicts", verdict="false_positive",
                          result="applied")[0].value == 1

        # Restart with the receiver down: the multiplier comes back from the state file.
        receiver.stop()
        exporter.stop()
        exporter = Exporter(tmp_path / "exporter", config).start()
        families = exporter.wait_for(lambda f: samples_of(f, "aiops_sensitivity_multiplier", queue="twin-a"),
                                     what="the multiplier after the restart")
        assert abs(samples_of(families, "aiops_sensitivity_multiplier", queue="twin-a")[0].value - 2.0) < 1e-3
        upper = {s.labels["queue"]: s.value for s in samples_of(families, "aiops_yhat_upper", aiops_query="twins")}
        yhat = {s.labels["queue"]: s.value for s in samples_of(families, "aiops_yhat", aiops_query="twins")}
        width_a, width_b = upper["twin-a"] - yhat["twin-a"], upper["twin-b"] - yhat["twin-b"]
        assert abs(width_a / width_b - 2.0) < 0.05
        exporter.wait_for(lambda f: samples_of(f, "aiops_exporter_feedback_errors")[0].value >= 1,
                          what="the unreachable receiver counted")
    finally:
        exporter.stop()
        receiver.stop()
        for queue in ("twin-a", "twin-b"):
            live_target.gauge.remove(queue)
