"""Fits on a Dask distributed cluster (a real LocalCluster with worker processes on this machine)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from benchmarks.updates import make_batch
from exporter.config import ConfigError, QueryConfig, parse_config
from exporter.executor import DaskFitExecutor, TaskFailure
from exporter.fitting import fit_query

pytestmark = pytest.mark.integration  # starts real binaries

distributed = pytest.importorskip("distributed", reason="the optional 'distributed' package is not installed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        yield lc


@pytest.fixture
def dask_executor(cluster):
    executor = DaskFitExecutor(cluster.scheduler_address)
    yield executor
    executor.close()


def test_a_large_seasonal_fit_is_split_over_the_cluster_and_gives_the_same_bands(dask_executor):
    batch = make_batch(3000, 864)
    query = QueryConfig(name="q", expr="x", step="300s", history="3d")
    inline = fit_query(query, batch.times, batch.values)
    remote = fit_query(query, batch.times, batch.values, dask_executor, chunk_series=1000)
    assert dask_executor.workers == 2
    t = batch.times[-1] + 300
    for attr in ("yhat", "lower", "upper"):
        assert np.allclose(getattr(inline.model.predict(t), attr), getattr(remote.model.predict(t), attr), equal_nan=True)
    assert remote.ok.sum() == 3000


def test_prophet_fits_run_on_the_cluster(dask_executor):
    batch = make_batch(2, 2 * 288)
    query = QueryConfig(name="p", expr="x", model="prophet", step="300s", history="2d",
                        params={"uncertainty_samples": 50, "fit_timeout": "120s"})
    result = fit_query(query, batch.times, batch.values, dask_executor)
    assert result.ok.all(), result.failures
    band = result.model.predict(batch.times[-1] + 300)
    assert np.all(band.lower < band.yhat) and np.all(band.yhat < band.upper)


def test_a_task_past_its_timeout_is_cancelled_and_counted(dask_executor):
    results = dask_executor.map(time.sleep, [(0.1,), (30,)], timeout=2)
    assert results[0] is None
    assert isinstance(results[1], TaskFailure) and results[1].reason == "timeout"
    assert "cancelled" in results[1].detail


def test_the_executor_config_names_the_key():
    base = {"prometheus": {"url": "http://p:9090"}, "queries": [{"name": "q", "expr": "up"}]}
    with pytest.raises(ConfigError, match=r"exporter.executor.address: required for type dask"):
        parse_config({**base, "exporter": {"executor": {"type": "dask"}}})
    with pytest.raises(ConfigError, match=r"exporter.executor.address: must be a Dask scheduler address"):
        parse_config({**base, "exporter": {"executor": {"type": "dask", "address": "dask:8786"}}})
    cfg = parse_config({**base, "exporter": {"executor": {"type": "dask", "address": "tcp://dask:8786"}}})
    assert cfg.exporter.executor.fit_chunk_series == 1000
