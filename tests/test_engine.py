"""QueryState: the one code path from samples to bands and scores."""

import numpy as np
import pytest

from exporter.config import QueryConfig
from exporter.labels import output_labels
from exporter.query_state import QueryState
from exporter.selfmetrics import SelfMetrics
from exporter.series import SeriesBatch

STEP = 60.0
DAY = 86400.0


def make_history(labels, days=2.0, end=10 * DAY, seed=0):
    times = np.arange(end - days * DAY, end + 1, STEP)
    rng = np.random.default_rng(seed)
    values = 50 + 10 * np.sin(2 * np.pi * times / DAY)[None, :] + rng.uniform(-1, 1, (len(labels), len(times)))
    return SeriesBatch(labels, times, values)


def provider(batch):
    def history(begin, end):
        mask = (batch.times >= begin) & (batch.times <= end)
        return SeriesBatch(batch.labels, batch.times[mask], batch.values[:, mask])
    return history


def recent_at(batch, t, values=None):
    col = int(np.searchsorted(batch.times, t))
    vals = batch.values[:, col:col + 1] if values is None else np.asarray(values, float)[:, None]
    return SeriesBatch(batch.labels, batch.times[col:col + 1], vals)


def query(**extra):
    return QueryConfig(**{"name": "q", "expr": "x", "step": "60s", "history": "1d", "min_history": "1h", **extra})


def counter(metrics, name, **labels):
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_output_labels_carry_the_source_labels_and_rename_collisions():
    out = output_labels({"__name__": "m", "job": "j", "horizon": "x"}, "q", "seasonal")
    assert out == {"job": "j", "exported_horizon": "x", "source_metric": "m", "aiops_query": "q",
                   "aiops_model": "seasonal"}


def test_series_beyond_max_series_are_dropped_and_counted():
    labels = [{"i": str(i)} for i in range(5)]
    batch = make_history(labels)
    metrics = SelfMetrics()
    state = QueryState(query(max_series=3), metrics=metrics)
    t = batch.times[-1]
    state.step(t, recent_at(batch, t), provider(batch))
    assert len(state.labels) == 3
    assert counter(metrics, "aiops_exporter_dropped_series_total", aiops_query="q", reason="max_series") == 2
    fetches = []

    def counting(begin, end):
        fetches.append((begin, end))
        return provider(batch)(begin, end)

    state.step(t + 60, recent_at(batch, t), counting)
    assert fetches == []  # the excess series wait for the next retrain instead of a history read every cycle


def test_a_series_with_too_little_history_is_counted_and_modelled_once_prometheus_has_enough():
    from exporter.history import MemoryBudget

    labels = [{"i": "old"}, {"i": "young"}]
    batch = make_history(labels)
    young_start = batch.times[-1] - 1800  # 30 minutes of data, min_history is 1h
    batch.values[1, batch.times < young_start] = np.nan
    metrics = SelfMetrics()
    state = QueryState(query(), metrics=metrics, memory=MemoryBudget(0))  # no in-memory history: reads Prometheus
    t = batch.times[-1] - 2 * 3600
    state.step(t, recent_at(batch, t), provider(batch))
    assert [lab["i"] for lab in state.labels] == ["old"]
    t = batch.times[-1]
    state.step(t, recent_at(batch, t), provider(batch))
    assert counter(metrics, "aiops_exporter_dropped_series_total", aiops_query="q", reason="insufficient_history") >= 1
    assert [lab["i"] for lab in state.labels] == ["old"]
    later = young_start + 3700
    longer = make_history(labels, end=later + 600)
    longer.values[1, longer.times < young_start] = np.nan
    state.step(later, recent_at(longer, later), provider(longer))
    assert sorted(lab["i"] for lab in state.labels) == ["old", "young"]


def present_at(batch, col, rows):
    """The recent batch of one cycle holding only `rows` (the series Prometheus returns at that time)."""
    return SeriesBatch([batch.labels[r] for r in rows], batch.times[col:col + 1], batch.values[rows, col:col + 1])


def test_a_new_series_collects_min_history_in_memory_and_is_admitted_without_a_history_read():
    labels = [{"__name__": "m", "instance": "old"}, {"__name__": "m", "instance": "new"}]
    batch = make_history(labels, days=1.5)
    batch.values[1] += 100  # the new series lives at another level
    start = int(np.searchsorted(batch.times, batch.times[0] + DAY))
    appears = start + 10
    batch.values[1, :appears] = np.nan  # Prometheus has nothing of it before
    state = QueryState(query(retrain_every="6h"))
    fetches = []
    history = provider(SeriesBatch(labels[:1], batch.times, batch.values[:1]))  # what the cold start reads

    def counted(begin, end):
        fetches.append((begin, end))
        return history(begin, end)

    admitted_at = None
    for col in range(start, appears + 70):
        state.step(float(batch.times[col]), present_at(batch, col, [0, 1] if col >= appears else [0]), counted)
        if admitted_at is None and len(state.labels) == 2:
            admitted_at = col
    assert len(fetches) == 1  # the cold start only
    assert admitted_at == appears + 60  # min_history (1h) of its own samples, then fitted and scored
    row = 1  # rows in order of admission
    assert state.labels[row]["instance"] == "new" and np.isfinite(state.score[row])
    end = float(batch.times[appears + 69])
    _, values = state.history.ring.window(end - 3600, end)
    np.testing.assert_array_equal(values[row], batch.values[1, appears + 9:appears + 70])  # its history kept
    assert state.snapshot(end).current.yhat[row] == pytest.approx(150, abs=15)
    assert state.history.pending is not None and len(state.history.pending) == 0


def test_a_new_series_that_vanishes_before_min_history_is_forgotten_after_the_ttl():
    labels = [{"__name__": "m", "instance": "old"}, {"__name__": "m", "instance": "blip"}]
    batch = make_history(labels, days=1.5)
    start = int(np.searchsorted(batch.times, batch.times[0] + DAY))
    batch.values[1, :start + 1] = np.nan  # it appears after the cold start, for 4 minutes
    state = QueryState(query(retrain_every="6h"), ttl=600.0)
    history = provider(SeriesBatch(labels[:1], batch.times, batch.values[:1]))  # what the cold start reads
    for col in range(start, start + 5):
        state.step(float(batch.times[col]), present_at(batch, col, [0, 1] if col > start else [0]), history)
    assert len(state.history.pending) == 1 and state.history.pending.ring.values.shape[0] == 1
    for col in range(start + 5, start + 20):
        state.step(float(batch.times[col]), present_at(batch, col, [0]), history)
    assert len(state.history.pending) == 0 and state.history.pending.ring.values.shape[0] == 0
    assert len(state.labels) == 1


def test_nan_and_inf_samples_are_skipped_and_counted_without_disturbing_other_series():
    labels = [{"i": "a"}, {"i": "b"}, {"i": "c"}]
    batch = make_history(labels)
    metrics = SelfMetrics()
    state = QueryState(query(), metrics=metrics)
    t = batch.times[-2]
    state.step(t, recent_at(batch, t), provider(batch))
    t = batch.times[-1]
    state.step(t, recent_at(batch, t, [np.inf, np.nan, 50.0]), provider(batch))
    assert counter(metrics, "aiops_exporter_invalid_samples_total", aiops_query="q") == 1
    snap = state.snapshot(t)
    assert np.isfinite(snap.score[2])
    assert np.isfinite(snap.current.yhat).all()


def test_series_that_vanish_expire_after_the_ttl_and_leave_the_snapshot():
    labels = [{"i": "stays"}, {"i": "goes"}]
    batch = make_history(labels)
    state = QueryState(query(), ttl=600)
    t = batch.times[-1]
    state.step(t, recent_at(batch, t), provider(batch))
    assert state.snapshot(t).series == 2
    only_first = SeriesBatch(labels[:1], np.array([t + 900]), np.array([[50.0]]))
    state.step(t + 900, only_first, provider(batch))
    snap = state.snapshot(t + 900)
    assert snap.series == 1 and len(snap.label_text) == 1 and 'i="stays"' in snap.label_text[0]


def test_a_history_failure_keeps_the_previous_model_and_is_reported():
    from exporter.history import MemoryBudget
    from exporter.series import SourceError

    labels = [{"i": "a"}]
    batch = make_history(labels)
    state = QueryState(query(retrain_every="10m"), memory=MemoryBudget(0))  # retrains read Prometheus
    t = batch.times[-30]
    state.step(t, recent_at(batch, t), provider(batch))

    def failing(begin, end):
        raise SourceError("connection refused", True)

    t = batch.times[-1]
    result = state.step(t, recent_at(batch, t), failing)
    assert result.errors == ["connection refused"]
    assert result.scored == 1 and state.snapshot(t).series == 1


def test_forecasts_are_published_for_each_horizon():
    labels = [{"i": "a"}]
    batch = make_history(labels, days=4)  # the daily profile is used from three days of history on
    state = QueryState(query(horizons=["1h", "6h"], history="4d"))
    t = batch.times[-1]
    state.step(t, recent_at(batch, t), provider(batch))
    snap = state.snapshot(t)
    assert set(snap.forecasts) == {"1h", "6h"}
    expected = 50 + 10 * np.sin(2 * np.pi * (t + 6 * 3600) / DAY)
    assert abs(snap.forecasts["6h"].yhat[0] - expected) < 2


def test_shards_split_the_series_of_a_query_without_overlap_or_gaps():
    labels = [{"instance": f"host-{i}", "job": "node"} for i in range(60)]
    batch = make_history(labels)
    t = batch.times[-1]
    seen = []
    for index in range(3):
        state = QueryState(query(), shard=(index, 3))
        state.step(t, recent_at(batch, t), provider(batch))
        seen.append({lab["instance"] for lab in state.labels})
        assert 5 < len(seen[-1]) < 40  # a roughly even split
    assert set().union(*seen) == {lab["instance"] for lab in labels}
    assert sum(len(s) for s in seen) == len(labels)


def test_the_shard_of_a_label_set_is_stable():
    from exporter.series import shard_of

    labels = {"instance": "host-7", "job": "node"}
    assert shard_of(labels, 5) == shard_of(dict(reversed(list(labels.items()))), 5)
    assert shard_of(labels, 1) == 0


def replay_scores(state: QueryState, batch: SeriesBatch, start: int, fetches: list) -> np.ndarray:
    history = provider(batch)

    def counted(begin, end):
        fetches.append((begin, end))
        return history(begin, end)

    scores = []
    for col in range(start, len(batch.times)):
        state.step(float(batch.times[col]), recent_at(batch, batch.times[col]), counted)
        row = np.full(len(batch.labels), np.nan)
        row[:len(state.score)] = state.score
        scores.append(row)
    return np.array(scores)


def test_retrains_refit_from_the_in_memory_history_with_the_same_result_as_reading_prometheus_again():
    from exporter.history import MemoryBudget

    labels = [{"__name__": "m", "instance": str(i)} for i in range(6)]
    batch = make_history(labels, days=1.5, end=10 * DAY + 17.0)  # a query_range start off the minute grid
    start = int(np.searchsorted(batch.times, batch.times[0] + DAY + 600))  # history covers a day, then 4h of cycles
    with_ring, without = [], []
    kept = QueryState(query(retrain_every="1h"))
    scores = replay_scores(kept, batch, start, with_ring)
    fetching = QueryState(query(retrain_every="1h"), memory=MemoryBudget(0))
    expected = replay_scores(fetching, batch, start, without)
    assert len(without) >= 4 and len(with_ring) == 1  # the first fit only
    assert kept.history.ring is not None and fetching.history.ring is None
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-9, equal_nan=True)


def test_the_in_memory_history_follows_added_and_expired_series():
    labels = [{"__name__": "m", "instance": str(i)} for i in range(3)]
    batch = make_history(labels, days=1.2)
    state = QueryState(query(retrain_every="1h"), ttl=600.0)
    start = int(np.searchsorted(batch.times, batch.times[0] + DAY))
    history = provider(batch)
    for col in range(start, start + 5):
        state.step(float(batch.times[col]), recent_at(batch, batch.times[col]), history)
    assert state.history.ring.values.shape[0] == 3
    only_two = SeriesBatch(labels[:2], batch.times, batch.values[:2])
    for col in range(start + 5, start + 30):  # instance 2 stops reporting and expires after the ttl
        state.step(float(batch.times[col]), recent_at(only_two, batch.times[col]), history)
    assert len(state.labels) == 2 and state.history.ring.values.shape[0] == 2
    times, values = state.history.ring.window(batch.times[start + 25] - 3600, batch.times[start + 25])
    np.testing.assert_array_equal(values, batch.values[:2, start - 35:start + 26])


def test_the_in_memory_history_leaves_skipped_steps_missing_and_forgets_what_is_older_than_history():
    from exporter.ring import HistoryRing

    times = 1000.0 + STEP * np.arange(5)
    ring = HistoryRing.from_history(times, np.arange(10.0).reshape(2, 5), STEP, 4 * STEP)  # holds 5 steps
    ring.write(times[-1] + 3 * STEP, slice(None), np.array([100.0, 200.0]))  # two steps skipped
    got_times, values = ring.window(times[0], times[-1] + 3 * STEP)
    np.testing.assert_array_equal(got_times, times[-1] + STEP * np.arange(-1, 4))  # the oldest fell out
    np.testing.assert_array_equal(values, [[3, 4, np.nan, np.nan, 100], [8, 9, np.nan, np.nan, 200]])
    assert not ring.covers(times[0], times[-1])  # its first steps are gone
    assert ring.covers(times[-1] - STEP, times[-1] + 3 * STEP)  # skipped steps are known to be missing


def test_a_retrain_after_a_cycle_that_skipped_samples_still_refits_from_memory():
    labels = [{"__name__": "m", "instance": str(i)} for i in range(3)]
    batch = make_history(labels, days=1.5)
    state = QueryState(query(retrain_every="1h"))
    fetches = []
    history = provider(batch)

    def counted(begin, end):
        fetches.append((begin, end))
        return history(begin, end)

    start = int(np.searchsorted(batch.times, batch.times[0] + DAY))
    state.step(float(batch.times[start]), recent_at(batch, batch.times[start]), counted)
    later = start + 90  # the next cycle comes 90 steps later (a long cold start): samples in between were never read
    state.step(float(batch.times[later]), recent_at(batch, batch.times[later]), counted)
    assert len(fetches) == 1 and state.last_fit == batch.times[later]  # retrained, from memory
    times, values = state.history.ring.window(batch.times[later] - 3600, batch.times[later])
    assert np.isnan(values[:, :-1]).all() and np.isfinite(values[:, -1]).all()


def test_series_that_only_rise_are_counted_as_counter_like_and_the_log_says_to_model_their_rate(caplog):
    gauges = make_history([{"i": str(i)} for i in range(3)])
    totals = np.cumsum(np.random.default_rng(2).poisson(4, (2, len(gauges.times))), axis=1).astype(float)
    batch = SeriesBatch(gauges.labels + [{"i": "total-a"}, {"i": "total-b"}], gauges.times,
                        np.vstack([gauges.values, totals]))
    metrics = SelfMetrics()
    state = QueryState(query(expr="requests_total"), metrics=metrics)
    t = batch.times[-1]
    with caplog.at_level("WARNING", logger="exporter.query_state"):
        state.step(t, recent_at(batch, t), provider(batch))
    assert counter(metrics, "aiops_exporter_counter_like_series", aiops_query="q") == 2
    assert "2 of 5 series only rise" in caplog.text and "rate(requests_total[5m])" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="exporter.query_state"):
        state.step(t + 3 * 3600, recent_at(batch, t), provider(batch))  # a retrain: the same two, said once
    assert state.last_fit == t + 3 * 3600 and "only rise" not in caplog.text
    assert counter(metrics, "aiops_exporter_counter_like_series", aiops_query="q") == 2


def test_the_profile_each_series_uses_is_counted_and_a_profile_no_series_uses_any_more_reads_zero():
    daily = make_history([{"i": "a"}, {"i": "b"}], days=4)
    flat = 50 + np.random.default_rng(3).uniform(-1, 1, (1, len(daily.times)))
    batch = SeriesBatch(daily.labels + [{"i": "flat"}], daily.times, np.vstack([daily.values, flat]))
    metrics = SelfMetrics()
    state = QueryState(query(history="4d"), metrics=metrics, ttl=600)
    t = batch.times[-1]
    state.step(t, recent_at(batch, t), provider(batch))

    def series(profile):
        return metrics.registry.get_sample_value("aiops_exporter_profile_series", {"aiops_query": "q",
                                                                                   "profile": profile})
    assert series("1d") == 2 and series("none") == 1
    later = t + 1800  # the flat series stopped after t: it expires (ttl 10 minutes), and no series is left without one
    state.step(later, SeriesBatch(daily.labels, np.array([later]), daily.values[:, -1:]), provider(daily))
    assert len(state.labels) == 2
    assert series("1d") == 2 and series("none") == 0


def test_the_loop_says_at_start_which_profile_a_query_s_history_is_too_short_for(caplog):
    from exporter.config import parse_config
    from exporter.engine import Engine
    from exporter.source import PrometheusSource

    cfg = parse_config({"prometheus": {"url": "http://127.0.0.1:9"},
                        "queries": [{"name": "fine", "expr": "x", "step": "60s"},
                                    {"name": "coarse", "expr": "x", "step": "10m"}]})
    with caplog.at_level("INFO", logger="exporter.engine"):
        Engine(cfg, PrometheusSource(cfg.prometheus), SelfMetrics(), executor=object())
    said = [r.getMessage() for r in caplog.records if "never tried" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("query fine: the 1w profile (long_period)")
