"""/metrics: the per-series families rendered in bulk, checked by real parsers (prometheus_client, promtool)."""

import gzip
import subprocess
import threading

import numpy as np
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from devstack.procs import require_binary
from exporter.collector import ExporterCollector
from exporter.config import QueryConfig
from exporter.exposition import FAMILY_NAMES, render_series_families
from exporter.labels import label_text, output_labels
from exporter.query_state import QueryState
from exporter.selfmetrics import SelfMetrics
from exporter.series import SeriesBatch
from exporter.server import make_app

STEP = 60.0
DAY = 86400.0
AWKWARD = [
    {"__name__": "m", "path": 'C:\\temp\\"quoted"', "note": "two\nlines"},
    {"__name__": "m", "path": "/ü/路径", "note": "plain"},
    {"__name__": "m", "path": "/gone", "note": "no sample this cycle"},
]


def modelled_state(labels=AWKWARD, horizons=("1h",)):
    times = np.arange(9 * DAY, 10 * DAY + 1, STEP)
    rng = np.random.default_rng(1)
    values = 50 + 10 * np.sin(2 * np.pi * times / DAY)[None, :] + rng.uniform(-1, 1, (len(labels), len(times)))
    history = SeriesBatch(labels, times, values)
    q = QueryConfig(name="q", expr="m", step="60s", history="1d", min_history="1h", horizons=list(horizons))
    state = QueryState(q, metrics=SelfMetrics())
    t = times[-1]
    latest = values[:, -1].copy()
    latest[2] = np.nan  # this series' latest sample is missing: no score, but it keeps its band
    state.step(t, SeriesBatch(labels, np.array([t]), latest[:, None]), lambda b, e: history)
    return state, t


def families_by_name(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_rendered_families_parse_back_to_the_snapshot_values_and_escaped_labels():
    state, t = modelled_state()
    snap = state.snapshot(t)
    families = families_by_name(render_series_families([snap]))
    expected_labels = [output_labels(labels, "q", "seasonal") for labels in AWKWARD]
    yhat = families["aiops_yhat"].samples
    assert [s.labels for s in yhat] == expected_labels
    assert [s.value for s in yhat] == snap.current.yhat.tolist()  # repr round-trips every float exactly
    scores = families["aiops_anomaly_score"].samples
    assert [s.labels["path"] for s in scores] == [AWKWARD[0]["path"], AWKWARD[1]["path"]]  # NaN rows left out
    forecast = families["aiops_forecast_yhat_upper"].samples
    assert {s.labels["horizon"] for s in forecast} == {"1h"} and len(forecast) == 3
    assert families["aiops_sensitivity_multiplier"].samples == []  # no feedback: family present, empty


def test_label_text_escapes_backslash_quote_and_newline_as_the_text_format_requires():
    assert label_text({"a": 'x\\y"z\nw'}) == 'a="x\\\\y\\"z\\nw"'


def test_the_name_filter_returns_only_the_families_asked_for():
    state, t = modelled_state()
    text = render_series_families([state.snapshot(t)], {"aiops_anomaly_score", "not_a_family"})
    assert set(families_by_name(text)) == {"aiops_anomaly_score"}


def serve(app, **environ):
    captured = {}

    def start_response(status, headers):
        captured["status"], captured["headers"] = status, dict(headers)

    body = b"".join(app({"PATH_INFO": "/metrics", "QUERY_STRING": "", **environ}, start_response))
    return captured["status"], captured["headers"], body


@pytest.fixture
def app():
    state, t = modelled_state()
    snapshots = {"q": state.snapshot(t)}
    registry = CollectorRegistry()
    SelfMetrics(registry)
    registry.register(ExporterCollector(snapshots))
    ready = threading.Event()
    return make_app(registry, ready, lambda names: render_series_families(snapshots.values(), names))


def test_metrics_serves_self_metrics_and_series_families_gzipped_when_asked(app):
    status, headers, body = serve(app, HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert status == "200 OK" and headers["Content-Encoding"] == "gzip"
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert int(headers["Content-Length"]) == len(body)
    names = set(families_by_name(gzip.decompress(body).decode()))
    assert set(FAMILY_NAMES) | {"aiops_exporter_series", "aiops_exporter_cycles"} <= names


def test_metrics_name_filter_applies_to_self_metrics_and_series_families(app):
    _, headers, body = serve(app, QUERY_STRING="name[]=aiops_yhat&name[]=aiops_exporter_series")
    assert "Content-Encoding" not in headers
    assert set(families_by_name(body.decode())) == {"aiops_yhat", "aiops_exporter_series"}


@pytest.mark.integration
def test_promtool_check_metrics_accepts_the_whole_exposition(app):
    _, _, body = serve(app)
    result = subprocess.run([require_binary("promtool"), "check", "metrics"], input=body,
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
