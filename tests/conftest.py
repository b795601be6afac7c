"""Fixtures that start real binaries (Prometheus, the exporter) on free ports."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import yaml
from prometheus_client import CollectorRegistry, Gauge, start_http_server
from prometheus_client.parser import text_string_to_metric_families

import sqlalchemy as sa

from alertmanager_receiver.store import Store, metadata
from devstack.procs import Process, free_port, wait_http
from devstack.prometheus import Prometheus, backfill
from devstack.synthetic import Spec, seasonal_values, write_openmetrics

REPO = Path(__file__).resolve().parent.parent
STEP = 60
ANOMALY_MINUTES = 10
ANOMALY_SHIFT = 40.0

HISTORY_SERIES = [
    Spec("demo_cpu_usage", {"cluster": "c1", "instance": "host-1", "service": "checkout"}, seed=1,
         noise_dist="uniform"),
    Spec("demo_cpu_usage", {"cluster": "c1", "instance": "host-2", "service": "payments"}, seed=2,
         noise_dist="uniform"),
    Spec("demo_cpu_usage", {"cluster": "c2", "instance": "host-3", "service": "cart"}, seed=3, base=30,
         noise_dist="uniform"),
    Spec("demo_cpu_usage", {"cluster": "c2", "instance": "host-4", "service": "payments-db"}, seed=4, base=70,
         noise_dist="uniform"),
]
ANOMALOUS_INSTANCE = "host-4"


def history_series(end: float, days: float = 7):
    times = np.arange(end - days * 86400, end + 1, STEP, dtype=float)
    for spec in HISTORY_SERIES:
        values = seasonal_values(spec, times)
        if spec.labels["instance"] == ANOMALOUS_INSTANCE:
            values[-ANOMALY_MINUTES:] += ANOMALY_SHIFT
        yield spec, times, values


class LiveTarget:
    """A scrape target in this process whose series the tests add and change."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.gauge = Gauge("live_queue_depth", "Test series that appears later.", ["queue"], registry=self.registry)
        self.port = free_port()
        self.server, self.thread = start_http_server(self.port, addr="127.0.0.1", registry=self.registry)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="session")
def live_target():
    target = LiveTarget()
    yield target
    target.close()


def start_prometheus(workdir: Path, live_target: LiveTarget) -> tuple[Prometheus, float]:
    end = (time.time() // STEP) * STEP - STEP
    workdir.mkdir(parents=True, exist_ok=True)
    openmetrics = workdir / "history.om"
    write_openmetrics(openmetrics, history_series(end))
    prom = Prometheus(workdir, scrape_targets={"live": [live_target.address]}, scrape_interval="1s")
    backfill(openmetrics, prom.data_dir)
    prom.start()
    return prom, end


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory, live_target):
    prom, end = start_prometheus(tmp_path_factory.mktemp("prometheus"), live_target)
    prom.history_end = end
    yield prom
    prom.stop()


def exporter_config(prom_url: str, interval: str = "2s") -> dict:
    return {
        "prometheus": {"url": prom_url, "timeout": "5s", "retries": 1, "backoff": "0.2s"},
        "exporter": {"interval": interval, "series_ttl": "10m"},
        "queries": [
            {"name": "cpu", "expr": "demo_cpu_usage", "model": "seasonal", "step": "60s", "history": "7d",
             "horizons": ["1h", "6h"], "interval_width": 0.999},
            {"name": "cpu_prophet", "expr": 'demo_cpu_usage{instance="host-4"}', "model": "prophet", "step": "5m",
             "history": "3d", "horizons": ["1h"], "params": {"uncertainty_samples": 100, "fit_timeout": "60s"}},
            {"name": "queues", "expr": "live_queue_depth", "model": "zscore", "step": "1s", "history": "2m",
             "min_history": "4s", "retrain_every": "1m", "interval_width": 0.999},
        ],
    }


class Exporter:
    def __init__(self, workdir: Path, config: dict):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = workdir / "exporter.yml"
        self.config_path.write_text(yaml.safe_dump(config))
        argv = [sys.executable, "-m", "exporter", "--config.file", str(self.config_path),
                "--web.listen-address", f"127.0.0.1:{self.port}", "--log.level", "info"]
        self.process = Process("exporter", argv, workdir / "exporter.log")

    def start(self) -> "Exporter":
        self.process.start()
        wait_http(f"{self.url}/readyz", 120, self.process.proc)
        return self

    def stop(self):
        self.process.stop()

    def scrape(self) -> dict[str, list]:
        """family name -> samples (name, labels, value) of one /metrics scrape."""
        text = requests.get(f"{self.url}/metrics", timeout=10).text
        families = {}
        for family in text_string_to_metric_families(text):
            families[family.name] = family.samples
        return families

    def wait_for(self, predicate, timeout: float = 60.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            families = self.scrape()
            if predicate(families):
                return families
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}; exporter log:\n{self.process.log_tail()}")


@pytest.fixture(scope="session")
def exporter(tmp_path_factory, prometheus):
    exp = Exporter(tmp_path_factory.mktemp("exporter"), exporter_config(prometheus.url)).start()
    yield exp
    exp.stop()


def samples_of(families: dict, name: str, **labels) -> list:
    return [s for s in families.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())]


# ---- storage: a real SQLite file, and a real PostgreSQL when one is reachable ----

PG_URL = os.environ.get("AIOPS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_reason() -> str | None:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as err:  # any failure means: skip, and say why
        return f"no PostgreSQL reachable at {PG_URL} ({type(err).__name__}); set AIOPS_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'receiver.db'}"
        return
    reason = postgres_reason()
    if reason:
        pytest.skip(reason)
    store = Store(PG_URL)
    with store.engine.begin() as conn:
        metadata.drop_all(conn)
    store.dispose()
    yield PG_URL
