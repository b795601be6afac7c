"""Carried model state in exporter.state_dir: it survives a restart, and a file that cannot be used changes nothing."""

import logging

import numpy as np

from exporter.carried_state import CarriedStore
from exporter.config import QueryConfig
from exporter.query_state import QueryState
from exporter.selfmetrics import SelfMetrics
from exporter.series import SeriesBatch

STEP = 300.0
DAY = 86400.0
SERIES = [{"__name__": "latency", "instance": "a"}, {"__name__": "latency", "instance": "b"}]


def query(**params) -> QueryConfig:
    return QueryConfig(name="latency", expr="latency", step=STEP, params=params or None)


def fitted_state(store: CarriedStore | None, metrics: SelfMetrics | None = None, days: float = 4, **params) -> QueryState:
    """A QueryState (as the engine builds it) that has fitted both series on `days` of quiet history."""
    times = np.arange(0, days * DAY, STEP) + 1.7e9
    values = 100 + np.random.default_rng(0).normal(0, 1, (len(SERIES), len(times)))
    batch = SeriesBatch(SERIES, times, values)

    def history(begin: float, end: float) -> SeriesBatch:
        keep = (times >= begin) & (times <= end)
        return SeriesBatch(SERIES, times[keep], values[:, keep])

    state = QueryState(query(**params), metrics=metrics, carried_store=store)
    state.step(float(times[-1]), SeriesBatch(SERIES, times[-1:], batch.values[:, -1:]), history)
    assert state.model is not None
    return state


def test_a_retrain_writes_the_carried_state_and_a_restart_inherits_it_by_label_set(tmp_path):
    store = CarriedStore(tmp_path)
    first = fitted_state(store)
    assert store.path("latency").exists()
    # what an earlier life of the exporter had seen: series b was once far rougher, and seen long ago
    row_b = first.table.row((("__name__", "latency"), ("instance", "b")))
    carried = first.model.carry()
    carried["rough_ref"][row_b], carried["rough_since"][row_b] = 50.0, 1.0e9
    store.save("latency", first.fingerprint, first.table.labels, carried)

    restarted = fitted_state(store)
    row_a = restarted.table.row((("__name__", "latency"), ("instance", "a")))
    row_b = restarted.table.row((("__name__", "latency"), ("instance", "b")))
    assert restarted.model.rough_ref[row_b] == 50.0 and restarted.model.rough_since[row_b] == 1.0e9
    assert restarted.model.rough_ref[row_a] < 50.0  # series a kept its own

    without = fitted_state(None)
    assert without.model.rough_ref[row_b] < 50.0  # without a state_dir a restart starts from the history


def test_a_state_written_under_other_settings_is_not_used_and_is_counted(tmp_path, caplog):
    store_metrics = SelfMetrics()
    store = CarriedStore(tmp_path, store_metrics.state_file_errors)
    first = fitted_state(store)
    carried = first.model.carry()
    carried["rough_ref"][:] = 50.0
    store.save("latency", first.fingerprint, first.table.labels, carried)
    with caplog.at_level(logging.WARNING):
        other = fitted_state(store, roughness_samples=8)
    assert (other.model.rough_ref < 50.0).all()
    assert "written for other settings" in caplog.text
    assert store_metrics.registry.get_sample_value(
        "aiops_exporter_state_file_errors_total", {"aiops_query": "latency", "operation": "stale"}) == 1


def test_an_unreadable_state_file_is_logged_and_counted_and_the_models_start_from_their_history(tmp_path, caplog):
    store_metrics = SelfMetrics()
    store = CarriedStore(tmp_path, store_metrics.state_file_errors)
    store.path("latency").write_bytes(b"not a numpy archive")
    with caplog.at_level(logging.ERROR):
        state = fitted_state(store)
    assert state.model is not None and np.isfinite(state.model.rough_ref).all()
    assert "cannot read carried state" in caplog.text
    assert store_metrics.registry.get_sample_value(
        "aiops_exporter_state_file_errors_total", {"aiops_query": "latency", "operation": "read"}) == 1
    assert store.load("latency", state.fingerprint) is not None  # the retrain wrote a good one over it


def test_a_state_dir_that_cannot_be_written_is_counted_and_fitting_goes_on(tmp_path, caplog):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the state directory should be")
    store_metrics = SelfMetrics()
    with caplog.at_level(logging.ERROR):
        state = fitted_state(CarriedStore(blocker / "state", store_metrics.state_file_errors))
    assert state.model is not None
    assert "cannot write carried state" in caplog.text
    assert store_metrics.registry.get_sample_value(
        "aiops_exporter_state_file_errors_total", {"aiops_query": "latency", "operation": "write"}) == 1
    assert list(tmp_path.iterdir()) == [blocker]  # no temporary file left behind


def test_replicas_of_a_sharded_exporter_keep_one_file_each_in_a_shared_directory(tmp_path):
    paths = {CarriedStore(tmp_path, shard=(index, 3)).path("latency") for index in range(3)}
    assert len(paths) == 3 and CarriedStore(tmp_path).path("latency") not in paths
