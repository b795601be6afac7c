"""Operator verdicts -> per-series sensitivity: the fold, persistence, and how QueryState applies it."""

import json

import numpy as np
import pytest

from exporter.config import FeedbackConfig
from exporter.feedback import Sensitivity, SensitivityRules, alert_key
from exporter.labels import output_labels, source_labels
from exporter.query_state import QueryState
from exporter.selfmetrics import SelfMetrics
from exporter.series import SeriesBatch
from exporter.verdicts import VerdictPoller
from tests.test_engine import make_history, provider, query, recent_at

DAY = 86400.0
SERIES = {"__name__": "latency", "service": "a"}


def anomaly_alert(source=SERIES, q="q", **extra):
    return {"labels": {**output_labels(source, q, "seasonal"), "alertname": "AIOpsAnomalyDetected",
                       "severity": "warning", **extra}}


def verdict(vid, at, kind, alerts):
    return {"id": vid, "at": at, "incident_id": 1, "verdict": kind, "comment": "", "alerts": alerts}


def key_of(alert, q="q"):
    return alert_key(q, alert["labels"])


def test_a_false_positive_widens_by_the_factor_up_to_the_cap_and_useful_narrows_back_to_one():
    s = Sensitivity(SensitivityRules(widen_factor=2, max_multiplier=4, half_life=1e12))
    alert = anomaly_alert()
    for i in range(3):
        s.apply(verdict(i, 10.0 + i, "false_positive", [alert]), {"q"})
    assert s.current(20.0)[key_of(alert)] == pytest.approx(4.0)  # 2, 4, capped at 4
    s.apply(verdict(3, 13.0, "useful", [alert]), {"q"})
    assert s.current(20.0)[key_of(alert)] == pytest.approx(2.0)
    s.apply(verdict(4, 14.0, "useful", [alert]), {"q"})
    s.apply(verdict(5, 15.0, "useful", [alert]), {"q"})
    assert key_of(alert) not in s.current(20.0)  # back at 1: nothing in effect, never below 1


def test_the_multiplier_decays_halfway_back_to_one_every_half_life():
    s = Sensitivity(SensitivityRules(widen_factor=3, max_multiplier=10, half_life=DAY))
    alert = anomaly_alert()
    s.apply(verdict(1, 0.0, "false_positive", [alert]), {"q"})
    assert s.current(DAY)[key_of(alert)] == pytest.approx(2.0)
    assert s.current(2 * DAY)[key_of(alert)] == pytest.approx(1.5)
    assert key_of(alert) not in s.current(30 * DAY)


def test_replaying_the_whole_history_gives_the_same_multipliers_and_a_verdict_counts_once():
    alerts = [anomaly_alert(), anomaly_alert({"__name__": "latency", "service": "b"})]
    history = [verdict(1, 100.0, "false_positive", alerts), verdict(2, 100.0, "false_positive", alerts[:1]),
               verdict(3, 5000.0, "useful", alerts[1:])]
    one_by_one = Sensitivity()
    for v in history:
        one_by_one.apply(v, {"q"})
        one_by_one.apply(v, {"q"})  # the same verdict read twice
    replayed = Sensitivity()
    assert [replayed.apply(v, {"q"}) for v in history] == [2, 1, 1]
    assert replayed.current(9000.0) == one_by_one.current(9000.0)
    assert replayed.current(9000.0)[key_of(alerts[0])] == pytest.approx(1 + 3 * 0.5 ** (8900 / (3 * DAY)))


def test_forecast_alerts_other_queries_and_foreign_alerts_are_left_alone():
    s = Sensitivity()
    others = [anomaly_alert(horizon="1h"), anomaly_alert(q="not-mine"), {"labels": {"alertname": "HighCPU"}}]
    assert s.apply(verdict(1, 1.0, "false_positive", others), {"q"}) == 0
    assert s.current(2.0) == {}


def test_the_state_round_trips_through_its_file_form_and_a_multiplier_is_clamped_to_the_rules():
    s = Sensitivity(SensitivityRules(max_multiplier=4))
    s.apply(verdict(7, 50.0, "false_positive", [anomaly_alert()]), {"q"})
    data = json.loads(json.dumps(s.to_dict()))
    again = Sensitivity.from_dict(data, s.rules)
    assert again.current(60.0) == s.current(60.0) and again.cursor == 50.0 and again.seen_ids == {7}
    data["entries"][0]["multiplier"] = 1000
    assert Sensitivity.from_dict(data, SensitivityRules(max_multiplier=3)).entries[key_of(anomaly_alert())].value == 3


def test_source_labels_inverts_output_labels():
    source = {"__name__": "m", "job": "j", "horizon": "x", "aiops_query": "y"}
    assert source_labels(output_labels(source, "q", "zscore")) == source


def fitted_state(labels):
    batch = make_history(labels)
    state = QueryState(query(), metrics=SelfMetrics())
    t = batch.times[-1]
    state.step(t, recent_at(batch, t), provider(batch))
    return state, batch, t


def test_a_multiplier_divides_the_published_score_and_widens_the_band_of_its_series_only():
    labels = [{"__name__": "latency", "service": "a"}, {"__name__": "latency", "service": "b"}]
    state, batch, t = fitted_state(labels)
    t2 = t + 60
    band = state.model.predict(t2)
    half = band.upper - band.yhat
    recent = SeriesBatch(batch.labels, np.array([t2]), (band.yhat + 1.5 * half)[:, None])
    state.step(t2, recent, provider(batch))
    before = state.snapshot(t2)
    assert np.all(before.score > 1) and before.multiplier is None
    alert = anomaly_alert(labels[0], cluster="prod")  # an external label Prometheus adds to alerts
    state.sensitivity = {key_of(alert): 2.0}
    after = state.snapshot(t2)
    assert after.score[0] == pytest.approx(before.score[0] / 2) and after.score[0] < 1
    assert after.score[1] == pytest.approx(before.score[1])
    assert after.current.upper[0] - after.current.yhat[0] == pytest.approx(2 * (before.current.upper[0] - before.current.yhat[0]))
    assert list(after.multiplier) == [2.0, 1.0]


def test_a_verdict_for_a_series_not_modelled_here_changes_nothing():
    state, _, t = fitted_state([{"__name__": "latency", "service": "a"}])
    state.sensitivity = {key_of(anomaly_alert({"__name__": "latency", "service": "zzz"})): 4.0}
    assert state.snapshot(t).multiplier is None


def test_the_poller_counts_an_unreachable_receiver_and_keeps_the_multipliers_it_has(tmp_path):
    state_file = tmp_path / "feedback.json"
    s = Sensitivity()
    s.apply(verdict(1, 10.0, "false_positive", [anomaly_alert()]), {"q"})
    state_file.write_text(json.dumps(s.to_dict()))
    metrics = SelfMetrics()
    cfg = FeedbackConfig(url="http://127.0.0.1:9", interval="1m", timeout="1s", state_file=state_file)
    poller = VerdictPoller(cfg, {"q"}, metrics)
    current = poller.poll(20.0)
    assert current["q"][key_of(anomaly_alert())] == pytest.approx(2.0, rel=1e-3)
    assert metrics.registry.get_sample_value("aiops_exporter_feedback_errors_total") == 1
    assert poller.poll(30.0) is None  # not due again before the interval


def test_a_corrupt_state_file_is_reported_and_the_poller_starts_from_nothing(tmp_path, caplog):
    state_file = tmp_path / "feedback.json"
    state_file.write_text("{not json")
    cfg = FeedbackConfig(url="http://127.0.0.1:9", state_file=state_file)
    poller = VerdictPoller(cfg, {"q"}, SelfMetrics())
    assert poller.sensitivity.entries == {} and "cannot read state file" in caplog.text
