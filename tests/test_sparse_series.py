"""Series sampled less often than Prometheus' 5-minute lookback, against a real Prometheus.

A fleet backfilled at one sample per 10 minutes, with a phase that puts every sample 100 s after
a 600 s grid point: at the next grid point the sample is 500 s old, past the lookback, so a plain
range query returns nothing. The exporter reads such a selector through last_over_time; when it
cannot read anything it says so, counts it and backs off instead of re-reading every cycle.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from devstack.prometheus import Prometheus, backfill
from devstack.synthetic import Spec, seasonal_values, write_openmetrics
from exporter.config import PrometheusConfig, parse_config
from exporter.engine import Engine
from exporter.selfmetrics import SelfMetrics
from exporter.source import PrometheusSource, QueryStats

pytestmark = pytest.mark.integration  # starts a real Prometheus

SPACING = 600
PHASE = 100  # seconds after each grid point: 500 s old at the next one, beyond the 300 s lookback
FLEET = 12
DAYS = 2
LAG = 420  # the lagging series' newest sample is at least 7 minutes old


@pytest.fixture(scope="module")
def sparse_prometheus(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sparse")
    grid_end = (time.time() // SPACING) * SPACING
    times = np.arange(grid_end - DAYS * 86400, grid_end - SPACING, SPACING, dtype=float) + PHASE
    series = []
    for i in range(FLEET):
        spec = Spec("cloud_queue_depth", {"job": "cloudwatch", "queue": f"q{i}"}, seed=i, base=40 + i)
        series.append((spec, times, seasonal_values(spec, times)))
    other = Spec("cloud_queue_age", {"job": "cloudwatch", "queue": "q0"}, seed=99)
    series.append((other, times, seasonal_values(other, times)))
    now = grid_end - SPACING + 30  # the tests' clock
    lagging_times = np.arange((now - LAG) // 60 * 60 - 86400, now - LAG, 60, dtype=float)  # newest: 7.5 min old
    lagging = Spec("cloud_latency", {"job": "cloudwatch", "region": "eu-1"}, seed=7)
    series.append((lagging, lagging_times, seasonal_values(lagging, lagging_times)))
    openmetrics = workdir / "sparse.om"
    write_openmetrics(openmetrics, series)
    prom = Prometheus(workdir)
    prom.scrape_targets = {"prometheus": [f"127.0.0.1:{prom.port}"]}  # a live, well-sampled series too
    backfill(openmetrics, prom.data_dir)
    prom.start()
    prom.grid_end, prom.now = grid_end, now
    yield prom
    prom.stop()


def source(url, **extra):
    return PrometheusSource(PrometheusConfig(url=url, timeout="5s", retries=1, backoff="0.05s", **extra),
                            sleep=lambda s: None)


def test_a_plain_range_query_on_the_600s_grid_misses_every_sample_of_the_fleet(sparse_prometheus):
    end = sparse_prometheus.grid_end - SPACING
    plain = source(sparse_prometheus.url, lookback_delta="2h")  # no rewrite: what Prometheus itself returns
    batch = plain.query_range("cloud_queue_depth", end - 86400, end, SPACING)
    assert not np.isfinite(batch.values).any()


def test_a_sparse_selector_is_read_through_last_over_time_and_every_grid_point_has_the_latest_sample(
        sparse_prometheus):
    end = sparse_prometheus.grid_end - SPACING
    stats = QueryStats()
    batch = source(sparse_prometheus.url).query_range("cloud_queue_depth", end - 86400, end, SPACING, stats)
    assert stats.rewritten and stats.listed == FLEET
    assert len(batch.labels) == FLEET and all(labels["__name__"] == "cloud_queue_depth" for labels in batch.labels)
    assert np.isfinite(batch.values).all()
    # Each grid point holds the sample taken 500 s before it (the latest one of its step).
    row = next(i for i, labels in enumerate(batch.labels) if labels["queue"] == "q3")
    spec = Spec("cloud_queue_depth", {"job": "cloudwatch", "queue": "q3"}, seed=3, base=43)
    all_times = np.arange(sparse_prometheus.grid_end - DAYS * 86400, sparse_prometheus.grid_end - SPACING,
                          SPACING, dtype=float) + PHASE
    expected = dict(zip(all_times, seasonal_values(spec, all_times)))
    assert np.allclose(batch.values[row], [expected[t - SPACING + PHASE] for t in batch.times], atol=1e-5)


def test_a_selector_without_a_metric_name_keeps_each_series_name_when_rewritten(sparse_prometheus):
    end = sparse_prometheus.grid_end - SPACING
    batch = source(sparse_prometheus.url).query_range('{job="cloudwatch", queue="q0"}', end - 6 * 3600, end,
                                                     SPACING)
    assert sorted(labels["__name__"] for labels in batch.labels) == ["cloud_queue_age", "cloud_queue_depth"]
    assert np.isfinite(batch.values).all()


def engine_for(url: str, lookback: str, clock, query: dict | None = None):
    cfg = parse_config({
        "prometheus": {"url": url, "timeout": "5s", "retries": 0, "lookback_delta": lookback},
        "exporter": {"interval": "60s"},
        "queries": [query or {"name": "queues", "expr": "cloud_queue_depth", "step": "600s", "history": "2d"}],
    })
    return Engine(cfg, PrometheusSource(cfg.prometheus), SelfMetrics(), clock=clock)


def sample(metrics: SelfMetrics, name: str, **labels) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_the_exporter_models_and_scores_a_fleet_sampled_every_10_minutes(sparse_prometheus):
    now = sparse_prometheus.grid_end - SPACING + 30
    engine = engine_for(sparse_prometheus.url, "5m", lambda: now)
    try:
        engine.run_cycle()
        snapshot = engine.snapshots["queues"]
        assert snapshot.series == FLEET
        assert np.isfinite(snapshot.score).all()
        assert sample(engine.metrics, "aiops_exporter_empty_history_reads_total", aiops_query="queues") == 0
    finally:
        engine.stop()


def test_an_unreadable_query_is_explained_once_counted_and_not_re_read_every_cycle(sparse_prometheus, caplog):
    clock = [sparse_prometheus.grid_end - SPACING + 30]
    engine = engine_for(sparse_prometheus.url, "2h", lambda: clock[0])  # no rewrite: nothing can be read
    reads = []
    original = engine.source.query_range

    def counting(expr, start, end, step, stats=None, wanted=None):
        reads.append(end - start)
        return original(expr, start, end, step, stats, wanted)

    engine.source.query_range = counting
    try:
        with caplog.at_level(logging.INFO, logger="exporter.engine"):
            for _ in range(8):  # eight cycles five minutes apart
                engine.run_cycle()
                clock[0] += 300
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "no samples" in r.getMessage()]
        assert len(warnings) == 1
        assert f"{FLEET} series listed" in warnings[0].getMessage() and "delay" in warnings[0].getMessage()
        history_reads = [span for span in reads if span > 86400]
        assert len(history_reads) == 3, "read at 0, 10 and 30 minutes (waits of one step, then two), not every cycle"
        assert sample(engine.metrics, "aiops_exporter_empty_history_reads_total", aiops_query="queues") == len(
            history_reads)
        assert sample(engine.metrics, "aiops_exporter_dropped_series_total", aiops_query="queues",
                      reason="no_samples") == FLEET * len(history_reads)
        assert engine.snapshots["queues"].series == 0
    finally:
        engine.stop()


@pytest.mark.parametrize("delay, expected", [("10m", 600.0), ("auto", 480.0), ("0s", 0.0)])
def test_a_series_whose_newest_sample_is_7_minutes_old_is_scored_with_a_delay(sparse_prometheus, delay, expected):
    query = {"name": "latency", "expr": "cloud_latency", "step": "60s", "history": "1d", "delay": delay}
    engine = engine_for(sparse_prometheus.url, "5m", lambda: sparse_prometheus.now, query)
    try:
        engine.run_cycle()
        assert sample(engine.metrics, "aiops_exporter_query_delay_seconds", aiops_query="latency") == expected
        snapshot = engine.snapshots["latency"]
        assert snapshot.series == 1
        if expected:
            assert np.isfinite(snapshot.score).all()
        else:  # scoring "now": the newest sample is past the lookback, so there is nothing to score
            assert not np.isfinite(snapshot.score).any()
    finally:
        engine.stop()


def test_check_config_probe_tells_a_good_query_from_a_sparse_and_a_lagging_one(sparse_prometheus, tmp_path):
    deadline = time.time() + 60  # the live series need a few grid points of samples (the counter's: 11 or more)
    while not sparse_prometheus.query('count_over_time(up{job="prometheus"}[30s]) >= 25') and time.time() < deadline:
        time.sleep(0.5)
    config = tmp_path / "exporter.yml"
    config.write_text(yaml.safe_dump({
        "prometheus": {"url": sparse_prometheus.url},
        "queries": [{"name": "good", "expr": 'up{job="prometheus"}', "step": "5s"},
                    {"name": "sparse", "expr": "cloud_queue_depth + 0", "step": "600s"},
                    {"name": "lagging", "expr": "cloud_latency", "step": "60s"},
                    {"name": "counter", "expr": "sum(prometheus_tsdb_head_samples_appended_total)", "step": "2s"}]}))
    result = subprocess.run([sys.executable, "-m", "exporter", "check-config", str(config), "--probe"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line and not line.startswith(" ")}
    assert rows["good"].endswith("OK")
    assert "NO SAMPLES" in rows["sparse"] and f"{FLEET:>8}" in rows["sparse"]
    assert "LAGGING" in rows["lagging"]
    assert rows["counter"].endswith("COUNTER")  # a raw counter: its rate is what can be judged
    assert "last_over_time" in result.stdout and "delay: " in result.stdout and "rate(<expression>[5m])" in result.stdout
