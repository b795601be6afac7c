"""The refresh loop: every `exporter.interval`, each query reads its recent samples and steps its state.

The per-query work (fitting, scoring, snapshots) is QueryState's (query_state.py); this loop
reads Prometheus, applies operator feedback, counts errors, and swaps in the snapshots that
/metrics publishes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .carried_state import CarriedStore
from .config import Config, QueryConfig
from .delay import auto_delay, newest_age_query
from .executor import make_executor
from .history import MemoryBudget
from .query_state import QueryState
from .selfmetrics import SelfMetrics
from .series import SeriesBatch
from .snapshot import QuerySnapshot
from .source import PrometheusSource, QueryStats, SourceError

log = logging.getLogger(__name__)


class Engine:
    """The background refresh loop over all configured queries."""

    def __init__(self, cfg: Config, source: PrometheusSource, metrics: SelfMetrics, executor=None,
                 clock: Callable[[], float] = time.time, stop_event: threading.Event | None = None, verdicts=None):
        self.cfg, self.source, self.metrics, self.clock = cfg, source, metrics, clock
        self.verdicts = verdicts  # a VerdictPoller, or None without `feedback`
        ex = cfg.exporter.executor
        self.executor = executor if executor is not None else make_executor(ex, cfg.exporter.fit_workers)
        shard = (cfg.exporter.shard.index, cfg.exporter.shard.count)
        memory = MemoryBudget(cfg.exporter.history_memory_bytes)
        store = CarriedStore(cfg.exporter.state_dir, metrics.state_file_errors, shard) if cfg.exporter.state_dir else None
        self.states = {q.name: QueryState(q, self.executor, metrics, cfg.exporter.series_ttl,
                                          cfg.exporter.coverage_window, shard=shard, fit_chunk_series=ex.fit_chunk_series,
                                          chunk_timeout=ex.chunk_timeout, memory=memory, carried_store=store)
                       for q in cfg.queries}
        for name, state in self.states.items():
            for sentence in state.spec.unusable(state.query.history):
                log.info("query %s: %s", name, sentence)
        self.snapshots: dict[str, QuerySnapshot] = {}
        for q in cfg.queries:  # labelled counters exist from the start, at 0, so rate() and dashboards see them
            metrics.query_errors.labels(q.name)
            metrics.invalid_samples.labels(q.name)
            metrics.fits.labels(q.name, "success")
            metrics.empty_history_reads.labels(q.name)
            if store is not None:
                for operation in ("read", "stale", "write"):
                    metrics.state_file_errors.labels(q.name, operation)
            for reason in ("max_series", "insufficient_history", "no_samples"):
                metrics.dropped_series.labels(q.name, reason)
        self.delays: dict[str, float] = {q.name: q.delay for q in cfg.queries if q.delay != "auto"}
        self.delay_checked: dict[str, float] = {}  # `delay: auto`: when the delay was last measured
        self.warned_empty: set[str] = set()  # queries whose empty history reads were logged (until one is not)
        self.ready = threading.Event()
        self.stop_event = stop_event if stop_event is not None else threading.Event()

    def run_cycle(self) -> None:
        started = time.perf_counter()
        now = self.clock()
        unreachable = False
        if self.verdicts is not None:
            multipliers = self.verdicts.poll(now)
            if multipliers is not None:
                for name, state in self.states.items():
                    state.sensitivity = multipliers.get(name, {})
        for name, state in self.states.items():
            stats = QueryStats()
            try:
                unreachable |= self._run_query(state, now, stats)
            except Exception:  # never let one query take the loop down
                log.exception("query %s: unexpected error", name)
            finally:
                if stats.errors:
                    self.metrics.query_errors.labels(name).inc(len(stats.errors))
            # A delayed query publishes the grid point it scored, with that point's band.
            self.snapshots[name] = state.snapshot(self.clock() - self.delays.get(name, 0.0))
        self.metrics.source_up.set(0 if unreachable else 1)
        self.metrics.cycle_duration.set(time.perf_counter() - started)
        self.metrics.cycles.inc()
        self.metrics.last_cycle.set(time.time())
        self.ready.set()

    def _delay(self, q: QueryConfig, now: float, stats: QueryStats) -> float:
        """Seconds behind now that this query scores (fixed, or measured for `delay: auto`)."""
        if q.delay != "auto":
            return q.delay
        if now - self.delay_checked.get(q.name, -float("inf")) >= q.retrain_every:
            self.delay_checked[q.name] = now
            try:
                age = self.source.instant_value(newest_age_query(q.expr, q.step), now, stats)
            except SourceError as err:
                log.warning("query %s: measuring the newest samples' age for delay: auto failed: %s", q.name, err)
                age = None
            delay = auto_delay(age, q.step) if age is not None else self.delays.get(q.name, 0.0)
            if delay != self.delays.get(q.name):
                log.info("query %s: delay auto: the newest samples are %s old (median); scoring %.0fs behind now",
                         q.name, "unknown" if age is None else f"{age:.0f}s", delay)
            self.delays[q.name] = delay
        return self.delays.get(q.name, 0.0)

    def _run_query(self, state: QueryState, now: float, stats: QueryStats) -> bool:
        q = state.query
        delay = self._delay(q, now, stats)
        self.metrics.query_delay.labels(q.name).set(delay)
        now -= delay  # the grid point this cycle scores
        start = now - max(self.cfg.exporter.interval, q.step)
        if state.processed_until is not None:
            start = max(state.processed_until + q.step, now - 10 * max(self.cfg.exporter.interval, q.step))
        try:
            recent = self.source.query_range(q.expr, start, now, q.step, stats)
        except SourceError as err:
            log.warning("query %s: %s", q.name, err)
            return err.unreachable
        fetch_errors: list[SourceError] = []

        def history(begin: float, end: float) -> SeriesBatch:
            log.info("query %s: fetching %.0fh of history", q.name, (end - begin) / 3600)
            try:
                return self.source.query_range(q.expr, begin, end, q.step, stats,
                                               wanted=state.owns if state.shard_count > 1 else None)
            except SourceError as err:
                fetch_errors.append(err)
                raise

        result = state.step(now, recent, history)
        if result.empty_read:
            self._empty_history(q, stats, result.next_read_in)
        elif state.empty_reads == 0:
            self.warned_empty.discard(q.name)
        if result.fitted:
            log.info("query %s: fitted %d series (%d modelled)", q.name, result.fitted, len(state.labels))
        for failure in fetch_errors:
            log.warning("query %s: history: %s", q.name, failure)
        return any(failure.unreachable for failure in fetch_errors)

    def _empty_history(self, q: QueryConfig, stats: QueryStats, next_read_in: float) -> None:
        """A history read with no sample: counted every time, explained once (until a read finds samples)."""
        self.metrics.empty_history_reads.labels(q.name).inc()
        self.metrics.dropped_series.labels(q.name, "no_samples").inc(stats.listed or 0)
        if q.name in self.warned_empty:
            log.info("query %s: history read still empty; next attempt in %.0fs", q.name, next_read_in)
            return
        self.warned_empty.add(q.name)
        lookback = self.source.cfg.lookback_delta
        if stats.listed:
            seen = (f"{stats.listed} series listed, none has a sample on the {q.step:g}s grid"
                    + (" (read through last_over_time over each step)" if stats.rewritten
                       else f" (a grid point sees samples up to {lookback:g}s old)"))
        elif stats.listed == 0:
            seen = "no series matches the selector in the history window"
        else:
            seen = f"the expression returned no sample on the {q.step:g}s grid"
        hints = ["check the expression in Prometheus' UI"]
        if stats.listed and not stats.rewritten:
            hints.insert(0, "samples further apart than the lookback: see 'Sparse series' in docs/exporter.md")
        if stats.listed:
            hints.insert(0, "samples that arrive late: set the query's `delay`")
        log.warning("query %s: history read found no samples: %s; try: %s. Counted in "
                    "aiops_exporter_empty_history_reads_total; next attempt in %.0fs (backing off up to "
                    "retrain_every)", q.name, seen, "; ".join(hints), next_read_in)

    def run_forever(self) -> None:
        interval = self.cfg.exporter.interval
        while not self.stop_event.is_set():
            began = time.monotonic()
            self.run_cycle()
            self.stop_event.wait(max(0.0, interval - (time.monotonic() - began)))

    def stop(self) -> None:
        self.stop_event.set()
        self.executor.close()
