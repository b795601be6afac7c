"""In-process scoring throughput: series-updates per second per core, vectorised vs a per-series baseline.

    .venv/bin/python -m benchmarks.updates [--series 1000,10000,100000] [--steps 200]

For each model and fleet size: fit on three days of 5-minute history, then
time `steps` refresh steps in CPU seconds of this single thread, twice: the
model kernel alone (predict, score, online update over all series), and the
full QueryState.step (the live loop's code path, adding row mapping by label
set and coverage). The baseline, measured in the same run, scores the same
updates with one Python object per series (the per-series design this
replaces). Prints a table; the figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from exporter.config import QueryConfig
from exporter.query_state import QueryState
from exporter.series import SeriesBatch

STEP = 300.0


def make_batch(n: int, points: int, seed: int = 0) -> SeriesBatch:
    rng = np.random.default_rng(seed)
    times = np.arange(points, dtype=float) * STEP
    base = 50 + 20 * np.sin(2 * np.pi * times / 86400)
    values = base[None, :] + rng.normal(0, 2, (n, points)) + rng.uniform(-10, 10, (n, 1))
    return SeriesBatch([{"instance": f"host-{i}", "job": "bench"} for i in range(n)], times, values)


def kernel(model: str, n: int, steps: int) -> float:
    """The model alone: predict, score, update over all series per step (no row mapping)."""
    from exporter.models import FitContext, make_model
    from exporter.scoring import anomaly_score

    batch = make_batch(n, 288 * 3 + steps)
    fitted = make_model(model).fit(batch.times[:864], batch.values[:, :864], FitContext(0.999, STEP, 3600.0)).model
    started = time.process_time()
    for col in range(864, 864 + steps):
        t, y = batch.times[col], batch.values[:, col]
        anomaly_score(y, fitted.predict(t))
        fitted.update(t, y)
    return n * steps / (time.process_time() - started)


def vectorised(model: str, n: int, steps: int) -> tuple[float, float]:
    history = make_batch(n, 288 * 3 + steps)
    fit_points = 288 * 3
    query = QueryConfig(name="bench", expr="x", model=model, step="5m", history="3d", retrain_every="1000d",
                        min_history="1h", max_series=n)
    state = QueryState(query)

    def provider(begin, end):
        mask = (history.times >= begin) & (history.times <= end)
        return SeriesBatch(history.labels, history.times[mask], history.values[:, mask])

    first = fit_points
    started = time.process_time()
    state.step(history.times[first], SeriesBatch(history.labels, history.times[first:first + 1],
                                                 history.values[:, first:first + 1]), provider)
    fit_seconds = time.process_time() - started
    started = time.process_time()
    for col in range(first + 1, first + steps):
        state.step(history.times[col], SeriesBatch(history.labels, history.times[col:col + 1],
                                                   history.values[:, col:col + 1]), provider)
    return fit_seconds, n * (steps - 1) / (time.process_time() - started)


class PerSeries:
    """The baseline: one Python object per series, level and scale updated in plain floats."""

    __slots__ = ("level", "var")

    def __init__(self, level: float, var: float):
        self.level, self.var = level, var

    def score_and_update(self, y: float, alpha: float = 0.05) -> float:
        half = 3.29 * math.sqrt(self.var)
        score = abs(y - self.level) / half if half else 0.0
        resid = max(-half, min(half, y - self.level))
        self.level += alpha * resid
        self.var = (1 - alpha) * self.var + alpha * resid * resid
        return score


def baseline(n: int, steps: int) -> float:
    batch = make_batch(n, steps)
    series = [PerSeries(float(batch.values[i, 0]), 4.0) for i in range(n)]
    rows = batch.values.tolist()
    started = time.process_time()
    for col in range(1, steps):
        for i, model in enumerate(series):
            model.score_and_update(rows[i][col])
    return n * (steps - 1) / (time.process_time() - started)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", default="1000,10000,100000")
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.series.split(",")]
    print(f"{'model':<10}{'series':>9}{'fit s':>9}{'kernel upd/s':>16}{'x base':>8}{'step upd/s':>14}{'x base':>8}")
    for n in sizes:
        base = baseline(min(n, 10000), args.steps)
        print(f"{'baseline':<10}{n:>9}{'':>9}{base:>16,.0f}{1.0:>8.1f}", flush=True)
        for model in ("seasonal", "zscore"):
            rate_kernel = kernel(model, n, args.steps)
            fit, rate = vectorised(model, n, args.steps)
            print(f"{model:<10}{n:>9}{fit:>9.2f}{rate_kernel:>16,.0f}{rate_kernel / base:>8.1f}{rate:>14,.0f}"
                  f"{rate / base:>8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
