"""/metrics exposition at fleet scale: the bulk renderer vs prometheus_client's objects, same run.

    .venv/bin/python -m benchmarks.exposition [--series 10000,100000] [--horizons 1h] [--repeat 3]

Builds one query's snapshot of N series (node-exporter-like label sets, one
forecast horizon by default: 7 samples per series), then renders the
per-series families twice: through prometheus_client (a Metric per family,
add_sample per row, generate_latest: how the exporter rendered them before)
and through exporter.exposition.render_series_families (labels pre-rendered
per row). Prints CPU seconds per scrape (best of --repeat), the ratio, the
body size and the cost of gzip at the level /metrics uses.
"""

from __future__ import annotations

import argparse
import gzip
import time
from functools import partial

import numpy as np
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric

from exporter.exposition import BAND_FAMILIES, FORECAST_FAMILIES, SCORE_FAMILY, render_series_families
from exporter.labels import label_text, output_labels
from exporter.models.base import Band
from exporter.server import GZIP_LEVEL
from exporter.snapshot import QuerySnapshot


def make_snapshot(n: int, horizons: list[str], seed: int = 0) -> tuple[QuerySnapshot, list[dict[str, str]]]:
    rng = np.random.default_rng(seed)
    labels = [output_labels({"__name__": "node_load1", "instance": f"host-{i:06d}.dc1.example.com:9100",
                             "job": "node", "env": "prod"}, "load", "seasonal") for i in range(n)]

    def band():
        yhat = rng.normal(50, 10, n)
        return Band(yhat, yhat - rng.uniform(1, 5, n), yhat + rng.uniform(1, 5, n))

    score = rng.exponential(0.4, n)
    snap = QuerySnapshot("load", "seasonal", [label_text(x) for x in labels], band(), score,
                         {h: band() for h in horizons}, n, time.time(), 0.95)
    return snap, labels


class ObjectCollector:
    """The per-series families through prometheus_client objects (the exporter's previous collector)."""

    def __init__(self, snap: QuerySnapshot, labels: list[dict[str, str]]):
        self.snap, self.labels = snap, labels

    def _family(self, name, doc, values, extra=None):
        family = Metric(name, doc, "gauge")
        for row in np.flatnonzero(np.isfinite(values)):
            family.add_sample(name, self.labels[row] if extra is None else {**self.labels[row], **extra},
                              float(values[row]))
        return family

    def collect(self):
        for name, attr, doc in BAND_FAMILIES:
            yield self._family(name, doc, getattr(self.snap.current, attr))
        yield self._family(*SCORE_FAMILY, self.snap.score)
        for name, attr, doc in FORECAST_FAMILIES:
            family = Metric(name, doc, "gauge")
            for horizon, band in self.snap.forecasts.items():
                family.samples += self._family(name, doc, getattr(band, attr), {"horizon": horizon}).samples
            yield family


def best_cpu(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        began = time.process_time()
        result = fn()
        best = min(best, time.process_time() - began)
    return best, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", default="10000,100000", help="comma-separated fleet sizes")
    parser.add_argument("--horizons", default="1h", help="comma-separated forecast horizons")
    parser.add_argument("--repeat", type=int, default=3, help="renders per measurement (the best is kept)")
    args = parser.parse_args(argv)
    horizons = [h for h in args.horizons.split(",") if h]
    print(f"{'series':>8} {'samples':>9} {'objects s':>9} {'bulk s':>7} {'ratio':>6} {'MB':>6} "
          f"{'gzip s':>7} {'gzip MB':>7}")
    for n in (int(x) for x in args.series.split(",")):
        snap, labels = make_snapshot(n, horizons)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(ObjectCollector(snap, labels))
        objects_s, old_body = best_cpu(partial(generate_latest, registry), args.repeat)
        bulk_s, body = best_cpu(lambda snap=snap: render_series_families([snap]).encode(), args.repeat)
        assert len(body) > 0.9 * len(old_body)  # same samples (label order and float repr may differ)
        gzip_s, packed = best_cpu(partial(gzip.compress, body, compresslevel=GZIP_LEVEL), args.repeat)
        samples = n * (4 + 3 * len(horizons))
        print(f"{n:>8} {samples:>9} {objects_s:>9.2f} {bulk_s:>7.3f} {objects_s / bulk_s:>5.1f}x "
              f"{len(body) / 1e6:>6.1f} {gzip_s:>7.2f} {len(packed) / 1e6:>7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
