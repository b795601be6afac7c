"""The exporter against a real Prometheus holding a backfilled week of history."""

from __future__ import annotations

import pytest
from conftest import ANOMALOUS_INSTANCE, HISTORY_SERIES, Exporter, exporter_config, samples_of, start_prometheus

pytestmark = pytest.mark.integration  # starts real binaries

CONTRACT_PER_SERIES = ["aiops_yhat", "aiops_yhat_lower", "aiops_yhat_upper", "aiops_anomaly_score"]
CONTRACT_FORECAST = ["aiops_forecast_yhat", "aiops_forecast_yhat_lower", "aiops_forecast_yhat_upper"]
SELF_METRICS = ["aiops_exporter_series", "aiops_exporter_fit_duration_seconds", "aiops_exporter_fits",
                "aiops_exporter_query_errors", "aiops_exporter_last_fit_timestamp_seconds",
                "aiops_exporter_cycle_duration_seconds", "aiops_exporter_source_up",
                "aiops_exporter_dropped_series", "aiops_band_coverage_ratio"]


def _cpu_scored(families):
    return (len(samples_of(families, "aiops_anomaly_score", aiops_query="cpu")) == len(HISTORY_SERIES)
            and samples_of(families, "aiops_yhat", aiops_query="cpu_prophet"))


def test_the_scrape_exposes_every_contract_metric_with_the_source_labels(exporter):
    families = exporter.wait_for(_cpu_scored, what="cpu series scored")
    for name in CONTRACT_PER_SERIES:
        samples = samples_of(families, name, aiops_query="cpu")
        assert len(samples) == len(HISTORY_SERIES), name
        for spec in HISTORY_SERIES:
            match = [s for s in samples if s.labels.get("instance") == spec.labels["instance"]]
            assert len(match) == 1, (name, spec.labels)
            labels = match[0].labels
            assert {k: labels[k] for k in spec.labels} == spec.labels
            assert labels["source_metric"] == "demo_cpu_usage"
            assert labels["aiops_model"] == "seasonal"
            assert "__name__" not in labels
    for name in CONTRACT_FORECAST:
        horizons = {s.labels["horizon"] for s in samples_of(families, name, aiops_query="cpu")}
        assert horizons == {"1h", "6h"}, name
    for name in SELF_METRICS:
        assert name in families, name
    prophet = samples_of(families, "aiops_forecast_yhat", aiops_query="cpu_prophet", horizon="1h")
    assert len(prophet) == 1 and prophet[0].labels["aiops_model"] == "prophet"
    assert samples_of(families, "aiops_exporter_fits", aiops_query="cpu_prophet", result="success")
    series = samples_of(families, "aiops_exporter_series", aiops_query="cpu")
    assert series[0].value == len(HISTORY_SERIES)
    assert samples_of(families, "aiops_exporter_source_up")[0].value == 1


def test_the_score_exceeds_one_at_the_injected_anomaly_and_stays_below_one_on_normal_series(exporter):
    families = exporter.wait_for(_cpu_scored, what="cpu series scored")
    scores = {s.labels["instance"]: s.value for s in samples_of(families, "aiops_anomaly_score", aiops_query="cpu")}
    assert scores[ANOMALOUS_INSTANCE] > 1
    for instance, score in scores.items():
        if instance != ANOMALOUS_INSTANCE:
            assert score < 1, (instance, score)
    lower = {s.labels["instance"]: s.value for s in samples_of(families, "aiops_yhat_lower", aiops_query="cpu")}
    upper = {s.labels["instance"]: s.value for s in samples_of(families, "aiops_yhat_upper", aiops_query="cpu")}
    yhat = {s.labels["instance"]: s.value for s in samples_of(families, "aiops_yhat", aiops_query="cpu")}
    for instance in yhat:
        assert lower[instance] < yhat[instance] < upper[instance]


def test_a_series_that_appears_later_gets_modelled(exporter, live_target):
    families = exporter.scrape()
    assert not samples_of(families, "aiops_anomaly_score", aiops_query="queues", queue="late")
    live_target.gauge.labels("late").set(5)
    families = exporter.wait_for(
        lambda f: samples_of(f, "aiops_anomaly_score", aiops_query="queues", queue="late"),
        timeout=90, what="the late series to be scored")
    sample = samples_of(families, "aiops_yhat", aiops_query="queues", queue="late")[0]
    assert sample.value == pytest.approx(5)
    assert sample.labels["source_metric"] == "live_queue_depth"
    assert sample.labels["job"] == "live"


def test_killing_prometheus_sets_source_up_to_zero_and_the_exporter_recovers(tmp_path, live_target):
    prom, _ = start_prometheus(tmp_path / "prom", live_target)
    exp = Exporter(tmp_path, exporter_config(prom.url, interval="1s")).start()
    try:
        exp.wait_for(_cpu_scored, what="first scores")
        prom.kill()
        families = exp.wait_for(lambda f: samples_of(f, "aiops_exporter_source_up")[0].value == 0,
                                timeout=60, what="source_up 0")
        # the last state is still served while Prometheus is away
        assert len(samples_of(families, "aiops_anomaly_score", aiops_query="cpu")) == len(HISTORY_SERIES)
        assert sum(s.value for s in samples_of(families, "aiops_exporter_query_errors")) > 0
        prom.start()
        exp.wait_for(lambda f: samples_of(f, "aiops_exporter_source_up")[0].value == 1,
                     timeout=60, what="source_up back to 1")
        assert exp.process.running
    finally:
        exp.stop()
        prom.stop()


def test_backtest_replays_history_prints_counts_and_coverage_and_writes_a_png(exporter, prometheus, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "band.png"
    result = subprocess.run([sys.executable, "-m", "exporter", "backtest", "--config.file", str(exporter.config_path),
                             "--query", "cpu", "--from", "now-3h", "--to", "now", "--output", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("demo_cpu_usage")]
    assert len(lines) == len(HISTORY_SERIES)
    anomalous = [line for line in lines if ANOMALOUS_INSTANCE in line][0]
    assert int(anomalous.split()[-3]) >= 5  # the injected ten minutes are counted
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
