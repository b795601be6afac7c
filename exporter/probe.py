"""`aiops-exporter check-config --probe`: each query read once from Prometheus, with a verdict.

A query that reads nothing usable does not fail: the exporter just models nothing. The probe
shows that before deploying: per query, the series found, how many points of the step grid
hold a sample, the age of the newest samples, and what to change. `verdict` is pure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .config import Config, QueryConfig
from .counters import counter_like
from .delay import auto_delay, newest_age_query
from .source import PrometheusSource, QueryStats, SourceError

PROBE_STEPS = 30  # grid points read per query (at least an hour)


@dataclass
class ProbeResult:
    query: str
    series: int  # found by the read (or listed, for a plain selector)
    with_samples: int  # series with at least one sample on the grid
    coverage: float  # median share of grid points with a sample, from each series' first one
    newest_age: float | None  # median age of the newest samples, seconds (None: unknown)
    delay: float  # what the query scores behind now
    rewritten: bool  # read through last_over_time (step longer than the lookback)
    error: str | None = None
    counter_like: int = 0  # series with samples that only rose over the window, as a counter's running total does


def verdict(result: ProbeResult, step: float, lookback: float) -> tuple[str, str]:
    """(OK | ERROR | NO SERIES | NO SAMPLES | LAGGING | SPARSE | COUNTER, what to do)."""
    if result.error:
        return "ERROR", result.error
    if result.series == 0:
        return "NO SERIES", "the expression matches nothing in the probed window; check it in Prometheus' UI"
    reach = result.delay + (step if result.rewritten else lookback)
    if result.newest_age is not None and result.newest_age > reach:
        suggested = auto_delay(result.newest_age, step)
        return "LAGGING", (f"the newest samples are {result.newest_age:.0f}s old, the grid point scored sees samples "
                           f"up to {reach:.0f}s old: set `delay: {suggested:.0f}s` (or `delay: auto`)")
    if result.with_samples == 0:
        return "NO SAMPLES", ("series exist but no grid point holds a sample: samples further apart than the "
                              f"lookback ({lookback:.0f}s) need a plain selector (read through last_over_time) or "
                              "last_over_time(...[step]) in the expression; see 'Sparse series' in docs/exporter.md")
    if result.coverage < 0.5:
        return "SPARSE", (f"only {result.coverage:.0%} of grid points hold a sample: a longer step, or "
                          "last_over_time(...[step]) in the expression")
    if result.counter_like * 2 > result.with_samples:
        return "COUNTER", (f"{result.counter_like} of {result.with_samples} series only rose over the window, as a "
                           "counter's running total does: a stall, a surge or a reset would hardly move their scores. "
                           "Model the rate: rate(<expression>[5m]) (a gauge that only rose for the window, such as a "
                           "filling disk, looks the same; then ignore this)")
    return "OK", ""


def _series_at_fine_resolution(source: PrometheusSource, q: QueryConfig, end: float, lookback: float,
                               stats: QueryStats) -> int:
    """Series of the expression evaluated every half lookback over the probe window (0 if none or on error)."""
    fine = max(min(q.step, lookback) / 2, 1.0)
    try:
        count = source.instant_value(f"count(count_over_time(({q.expr})[{_window(q):g}s:{fine:g}s]))", end, stats)
    except SourceError:
        return 0
    return int(count or 0)


def _window(q: QueryConfig) -> float:
    """How far back the probe reads: PROBE_STEPS steps, at least an hour."""
    return max(PROBE_STEPS * q.step, 3600.0)


def probe_query(source: PrometheusSource, q: QueryConfig, now: float, lookback: float = 300.0) -> ProbeResult:
    stats = QueryStats()
    try:
        newest_age = source.instant_value(newest_age_query(q.expr, q.step), now, stats)
        delay = auto_delay(newest_age, q.step) if q.delay == "auto" else q.delay
        end = now - delay
        batch = source.query_range(q.expr, end - _window(q), end, q.step, stats)
    except SourceError as err:
        return ProbeResult(q.name, 0, 0, 0.0, None, 0.0, False, str(err))
    present = np.isfinite(batch.values)
    with_samples = present.any(axis=1)
    shares = [row[np.argmax(row):].mean() for row in present[with_samples]]
    series = max(len(batch.labels), stats.listed or 0)
    if series == 0:  # none on the step grid: are there series at a resolution finer than the lookback?
        series = _series_at_fine_resolution(source, q, end, lookback, stats)
    rising = counter_like(batch.values[with_samples], window=batch.values.shape[1])
    return ProbeResult(q.name, series, int(with_samples.sum()), float(np.median(shares)) if shares else 0.0,
                       newest_age, delay, stats.rewritten, counter_like=int(rising.sum()))


def run_probe(cfg: Config, out, now: float | None = None) -> int:
    """Probe every query; print a table and the verdicts. 0 when every verdict is OK, else 1."""
    source = PrometheusSource(cfg.prometheus)
    now = time.time() if now is None else now
    worst = 0
    print(f"{'query':<24}{'series':>8}{'with samples':>14}{'grid coverage':>15}{'newest age':>12}{'delay':>8}  verdict",
          file=out)
    for q in cfg.queries:
        result = probe_query(source, q, now, cfg.prometheus.lookback_delta)
        status, advice = verdict(result, q.step, cfg.prometheus.lookback_delta)
        age = "-" if result.newest_age is None else f"{result.newest_age:.0f}s"
        print(f"{q.name:<24}{result.series:>8}{result.with_samples:>14}{result.coverage:>15.0%}{age:>12}"
              f"{result.delay:>7.0f}s  {status}{' (read through last_over_time)' if result.rewritten else ''}",
              file=out)
        if advice:
            print(f"    {advice}", file=out)
        worst = max(worst, 0 if status == "OK" else 1)
    return worst
