"""Shared fixtures: real binaries (Prometheus, the exporter) on free ports, the receiver app, stores, clocks.

Tests that start a binary carry the `integration` marker (`make test-fast` runs the others); a
test without it that starts a process or uses a binary-starting fixture fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import requests
import sqlalchemy as sa
import yaml
from amhelpers import T0
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import CollectorRegistry, Gauge, start_http_server
from prometheus_client.parser import text_string_to_metric_families

from alertmanager_receiver.app import create_app
from alertmanager_receiver.config import parse_receiver_config
from alertmanager_receiver.context import Receiver, receiver_of
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

    def start(self) -> Exporter:
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


# ---- the receiver app on a real store, with a clock the test sets ----

class Clock:
    """A clock the test moves: the receiver reads `now` from it."""

    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@dataclass
class ReceiverApp:
    app: Flask
    client: FlaskClient
    receiver: Receiver

    def count(self, table) -> int:
        with self.receiver.store.read() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


@pytest.fixture
def receiver_app(clock):
    """receiver_app(config dict, clock=None) -> ReceiverApp: create_app on the config, the test's clock by default."""
    made: list[ReceiverApp] = []

    def make(config: dict, with_clock: Clock | None = None) -> ReceiverApp:
        app = create_app(parse_receiver_config(config), clock=with_clock or clock)
        made.append(ReceiverApp(app, app.test_client(), receiver_of(app)))
        return made[-1]

    yield make
    for item in made:
        item.receiver.store.dispose()


TOPOLOGY = {"checkout": {"depends_on": ["payments", "cart"], "criticality": "high"},
            "payments": {"depends_on": ["payments-db"]}}


@pytest.fixture
def make_receiver(receiver_app):
    """make_receiver(storage url, **config keys) -> (app, client) with the documented correlation and TOPOLOGY."""

    def make(url: str, **extra):
        made = receiver_app({"storage": {"url": url, "busy_timeout": "0.5s"},
                             "correlation": {"group_by": ["cluster", "namespace"], "window": "10m",
                                             "service_label": "service", "quiet_period": "5m"},
                             "topology": TOPOLOGY, **extra})
        return made.app, made.client

    return make


def count(app: Flask, table) -> int:
    """Rows in a table of the app's store."""
    with receiver_of(app).store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'receiver.db'}"


# ---- the integration marker is checked, not trusted ----

BINARY_FIXTURES = {"prometheus", "exporter", "live_target", "stack", "cluster", "dask_executor"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        uses = BINARY_FIXTURES & set(getattr(item, "fixturenames", ()))
        if uses and item.get_closest_marker("integration") is None:
            raise pytest.UsageError(f"{item.nodeid} uses {', '.join(sorted(uses))}, which start binaries: "
                                    "mark it @pytest.mark.integration")


@pytest.fixture(autouse=True)
def _unit_tests_start_no_process(request, monkeypatch):
    if request.node.get_closest_marker("integration") is not None:
        return

    def refuse(*args, **kwargs):
        raise AssertionError(f"{request.node.nodeid} started a process ({args[0] if args else kwargs}): "
                             "mark it @pytest.mark.integration")

    monkeypatch.setattr(subprocess, "Popen", refuse)
