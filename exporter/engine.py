"""Per-query modelling state and the refresh loop.

`QueryState.step()` is the one code path that turns samples into bands and
scores: the live loop feeds it from Prometheus, `score-csv` and `backtest`
feed it from files or replayed history. State is kept as arrays indexed by
row (one row per series), so memory per series is a few arrays' worth.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .config import Config, QueryConfig
from .durations import format_duration
from .executor import TaskFailure, make_executor
from .exposition import label_text
from .models import FitContext, FittedModel, ModelSpec, make_model
from .models.base import Band, FitResult
from .pending import PendingSeries
from .ring import HistoryRing
from .scoring import anomaly_score, inside_band
from .selfmetrics import SelfMetrics
from .source import PrometheusSource, QueryStats, SeriesBatch, SourceError, label_key, shard_of

log = logging.getLogger(__name__)

RESERVED_LABELS = ("aiops_query", "aiops_model", "horizon", "source_metric")
STALENESS = 300.0  # seconds: like Prometheus' lookback, a score older than this is not published

HistoryFetcher = Callable[[float, float], SeriesBatch]
Observer = Callable[[float, np.ndarray, Band, np.ndarray], None]  # (t, y per row, band, score per row)


def source_labels(output: dict[str, str]) -> dict[str, str]:
    """The inverse of output_labels: a published series' labels back to its source labels."""
    out: dict[str, str] = {}
    for name, value in output.items():
        if name in ("aiops_query", "aiops_model"):
            continue
        if name == "source_metric":
            out["__name__"] = value
        elif name.startswith("exported_") and name[len("exported_"):] in RESERVED_LABELS:
            out[name[len("exported_"):]] = value
        else:
            out[name] = value
    return out


def widen(band: Band, multiplier: np.ndarray) -> Band:
    """The band with each row's half-widths multiplied (feedback sensitivity)."""
    return Band(band.yhat, band.yhat - (band.yhat - band.lower) * multiplier,
                band.yhat + (band.upper - band.yhat) * multiplier)


def fit_chunk(spec, times: np.ndarray, values: np.ndarray, ctx: FitContext) -> FitResult:
    """One chunk of a vectorised fit (runs in a worker process or on a Dask worker)."""
    return spec.fit(times, values, ctx)


def output_labels(source: dict[str, str], query: str, model: str) -> dict[str, str]:
    """Source labels plus aiops_query/aiops_model; __name__ becomes source_metric.

    A source label that collides with one the exporter sets is kept as
    exported_<name>, as Prometheus does for target labels.
    """
    out: dict[str, str] = {}
    for name, value in source.items():
        if name == "__name__":
            continue
        out[f"exported_{name}" if name in RESERVED_LABELS else name] = value
    if "__name__" in source:
        out["source_metric"] = source["__name__"]
    out["aiops_query"] = query
    out["aiops_model"] = model
    return out


@dataclass(frozen=True)
class QuerySnapshot:
    """What one scrape publishes for a query: immutable, swapped in whole."""

    name: str
    model: str
    label_text: list[str]  # per row: its published labels rendered for the text format (exposition.label_text)
    current: Band  # at snapshot time
    score: np.ndarray
    forecasts: dict[str, Band]  # horizon label -> band
    series: int
    last_fit: float | None
    coverage: float | None
    multiplier: np.ndarray | None = None  # feedback sensitivity per row (None: all 1)


@dataclass
class StepResult:
    scored: int = 0
    fitted: int = 0
    errors: list[str] = field(default_factory=list)


class MemoryBudget:
    """Bytes the queries' in-memory histories may hold together (None: no limit)."""

    def __init__(self, limit: int | None):
        self.limit = limit
        self.used: dict[int, int] = {}
        self._lock = threading.Lock()

    def allows(self, owner, nbytes: int) -> bool:
        with self._lock:
            others = sum(v for k, v in self.used.items() if k != id(owner))
            return self.limit is None or others + nbytes <= self.limit

    def set(self, owner, nbytes: int) -> None:
        with self._lock:
            self.used[id(owner)] = nbytes


class QueryState:
    def __init__(self, query: QueryConfig, executor=None, metrics: SelfMetrics | None = None,
                 ttl: float = 600.0, coverage_window: float = 3600.0, observer: Observer | None = None,
                 shard: tuple[int, int] = (0, 1), fit_chunk_series: int = 1000, chunk_timeout: float = 600.0,
                 memory: "MemoryBudget | None" = None):
        self.q = query
        self.memory = memory if memory is not None else MemoryBudget(None)
        self.ring: HistoryRing | None = None  # recent history of the modelled rows (retrains read it, not Prometheus)
        self.pending: PendingSeries | None = None  # new series collecting min_history in memory (with the ring)
        self.fit_chunk_series, self.chunk_timeout = fit_chunk_series, chunk_timeout
        self.observer = observer
        self.shard_index, self.shard_count = shard
        self.spec: ModelSpec = make_model(query.model, query.params)
        self.executor = executor
        self.metrics = metrics if metrics is not None else SelfMetrics()
        self.ttl, self.coverage_window = ttl, coverage_window
        self.rows: dict[tuple, int] = {}
        self.labels: list[dict[str, str]] = []
        self.out_label_text: list[str] = []  # each row's published labels, rendered once (exposition)
        self.model: FittedModel | None = None
        self.ok = np.zeros(0, dtype=bool)
        self.last_seen = np.zeros(0)
        self.score = np.zeros(0)
        self.last_fit: float | None = None
        self.processed_until: float | None = None
        self.retry_at: dict[tuple, float] = {}
        self.coverage_log: deque[tuple[float, int, int]] = deque()
        self.sensitivity: dict[tuple, float] = {}  # feedback.alert_key -> multiplier in effect
        self._alert_rows: dict[tuple, int] = {}  # alert_key -> row (-1: not modelled), reset when rows change

    # ---- fitting -------------------------------------------------------
    def _context(self) -> FitContext:
        longest = max(self.q.horizons, default=0.0)
        return FitContext(interval_width=self.q.interval_width, step=self.q.step,
                          forecast_span=self.q.retrain_every + longest + 2 * self.q.step, executor=self.executor)

    def _fit(self, batch: SeriesBatch, now: float, replaces_model: bool = False
             ) -> tuple[FittedModel | None, np.ndarray, np.ndarray, list[int]]:
        """Fit the batch's rows that have enough history; returns (model, ok, last_seen, kept rows).

        `replaces_model`: the result will replace the current model, which is then released before
        the fit (at 100,000 series it is about 460 MB that would otherwise sit beside the new one).
        """
        finite = np.isfinite(batch.values)
        enough = finite.sum(axis=1) * self.q.step >= self.q.effective_min_history
        short = np.flatnonzero(~enough)
        if len(short):
            self.metrics.dropped_series.labels(self.q.name, "insufficient_history").inc(len(short))
            retry = now + max(self.q.step * 10, self.q.effective_min_history / 10)
            for i in short:
                self.retry_at[label_key(batch.labels[i])] = retry
        kept = [int(i) for i in np.flatnonzero(enough)]
        if not kept:
            return None, np.zeros(0, bool), np.zeros(0), []
        if replaces_model:
            self.model = None  # scrapes read snapshots, not the model; step() sets the new one
        values = batch.values if len(kept) == len(batch.values) else batch.values[kept]  # no copy when all fit
        started = time.perf_counter()
        result = self._fit_rows(batch.times, values)
        self.metrics.fit_duration.labels(self.q.name, self.q.model).observe(time.perf_counter() - started)
        self.metrics.fits.labels(self.q.name, "success").inc(int(result.ok.sum()))
        for reason, count in result.failures.items():
            self.metrics.fits.labels(self.q.name, reason).inc(count)
        last_index = len(batch.times) - 1 - np.argmax(finite[kept, ::-1], axis=1)  # no (series x times) temporary
        last_seen = batch.times[last_index]
        return result.model, result.ok, last_seen, kept

    def _fit_rows(self, times: np.ndarray, values: np.ndarray) -> FitResult:
        """Fit all rows; a vectorised model's large batch is split into chunks fitted in parallel."""
        ctx = self._context()
        chunk = self.fit_chunk_series
        if not self.spec.vectorised or len(values) <= chunk:
            return self.spec.fit(times, values, ctx)
        local_ctx = FitContext(ctx.interval_width, ctx.step, ctx.forecast_span, None)
        tasks = [(self.spec, times, values[i:i + chunk], local_ctx) for i in range(0, len(values), chunk)]
        if self.executor is None or getattr(self.executor, "workers", 1) < 2:
            results = [fit_chunk(*task) for task in tasks]  # in chunks all the same: bounded scratch memory
        else:
            results = self.executor.map(fit_chunk, tasks, self.chunk_timeout)
        parts = []
        for task, result in zip(tasks, results):
            if isinstance(result, TaskFailure):  # a lost worker: fit this chunk here rather than drop it
                log.warning("query %s: chunk fit failed on the executor (%s); fitting it in-process",
                            self.q.name, result.detail)
                result = fit_chunk(*task)
            parts.append(result)
        failures: dict[str, int] = {}
        for part in parts:
            for reason, count in part.failures.items():
                failures[reason] = failures.get(reason, 0) + count
        return FitResult(type(parts[0].model).concat([p.model for p in parts]),
                         np.concatenate([p.ok for p in parts]), failures)

    def _admit(self, batch: SeriesBatch, only: set[tuple] | None, replace: bool, now: float) -> int:
        """Fit series of `batch` (all, or the keys in `only`) and add or replace their rows."""
        keys = [label_key(labels) for labels in batch.labels]
        capacity = self.q.max_series - (0 if replace else len(self.rows))
        wanted = [i for i, k in enumerate(keys) if (only is None or k in only) and self.mine(batch.labels[i])]
        if replace:  # series already modelled keep their place ahead of new ones
            wanted.sort(key=lambda i: keys[i] not in self.rows)
        if len(wanted) > capacity:
            self.metrics.dropped_series.labels(self.q.name, "max_series").inc(len(wanted) - max(capacity, 0))
            for i in wanted[max(capacity, 0):]:  # reconsidered at the next retrain, not every cycle
                self.retry_at[keys[i]] = now + self.q.retrain_every
            wanted = wanted[:max(capacity, 0)]
        if not wanted:
            return 0
        everything = len(wanted) == len(keys) and wanted == list(range(len(keys)))
        sub = batch if everything else SeriesBatch([batch.labels[i] for i in wanted], batch.times, batch.values[wanted])
        model, ok, last_seen, kept = self._fit(sub, now, replaces_model=replace)
        if model is None:
            return 0
        new_labels = [sub.labels[i] for i in kept]
        new_score = np.full(len(kept), np.nan)
        self._keep_history(sub, kept, replace or self.model is None)
        old_rows, old_text = {}, self.out_label_text
        if replace or self.model is None:
            old_rows = self.rows
            for row, labels in enumerate(new_labels):  # a retrain keeps each series' last score
                old_row = old_rows.get(label_key(labels))
                if old_row is not None:
                    new_score[row] = self.score[old_row]
            self.rows, self.labels, self.out_label_text = {}, [], []
            self._alert_rows = {}
            self.model, self.ok, self.last_seen, self.score = model, ok, last_seen, new_score
        else:
            self.model = type(self.model).concat([self.model, model])
            self.ok = np.concatenate([self.ok, ok])
            self.last_seen = np.concatenate([self.last_seen, last_seen])
            self.score = np.concatenate([self.score, new_score])
        for labels in new_labels:
            key = label_key(labels)
            self.rows[key] = len(self.labels)
            self.labels.append(labels)
            old_row = old_rows.get(key)  # a refit series keeps its rendered labels
            self.out_label_text.append(old_text[old_row] if old_row is not None
                                       else label_text(output_labels(labels, self.q.name, self.q.model)))
            self.retry_at.pop(key, None)
        self._alert_rows = {k: v for k, v in self._alert_rows.items() if v >= 0}
        return len(kept)

    def _keep_history(self, sub: SeriesBatch, kept: list[int], replace: bool) -> None:
        """Keep the fitted rows' history in the ring, as far as the memory budget allows."""
        rows = len(kept) + (0 if replace or self.ring is None else self.ring.values.shape[0])
        pending = self.pending.nbytes if self.pending is not None else 0
        if not self.memory.allows(self, HistoryRing.nbytes(rows, self.q.step, self.q.history) + pending):
            if self.ring is not None:
                log.info("query %s: history no longer fits exporter.history_memory_bytes; retrains read "
                         "Prometheus", self.q.name)
            self.ring, self.pending = None, None
            self.memory.set(self, 0)
            return
        values = sub.values if len(kept) == len(sub.values) else sub.values[kept]
        fresh = HistoryRing.from_history(sub.times, values, self.q.step, self.q.history)
        self.ring = fresh if replace or self.ring is None else self.ring.append(fresh)
        self.memory.set(self, self._history_bytes())

    def mine(self, labels: dict[str, str]) -> bool:
        """Whether this replica's shard models the series."""
        return self.shard_count == 1 or shard_of(labels, self.shard_count) == self.shard_index

    # ---- the step --------------------------------------------------------
    def step(self, now: float, recent: SeriesBatch, history: HistoryFetcher) -> StepResult:
        """Bring this query up to `now`: fit what needs fitting, then score and learn from `recent`."""
        result = StepResult()
        fit_end = (recent.times[0] if len(recent.times) else now) - self.q.step
        recent_keys = [label_key(labels) for labels in recent.labels]
        new = [(k, labels) for k, labels in zip(recent_keys, recent.labels)
               if k not in self.rows and self.retry_at.get(k, -np.inf) <= now and self.mine(labels)]
        retrain = self.model is None or self.last_fit is None or now - self.last_fit >= self.q.retrain_every
        if retrain and self.ring is not None:
            self.ring.advance(fit_end)  # a cycle longer than 10 intervals skipped samples: they stay missing
        if retrain and self.ring is not None and self.ring.covers(fit_end - self.q.history, fit_end):
            times, values = self.ring.window(fit_end - self.q.history, fit_end)
            result.fitted += self._admit(SeriesBatch(list(self.labels), times, values), None, replace=True, now=now)
            self.last_fit, retrain = now, False
        if new and not retrain and self._collect_pending(new, now):
            new = []  # they wait in memory for min_history rather than trigger a read of the whole query
        if retrain or new:
            try:
                batch = history(fit_end - self.q.history, fit_end)
            except SourceError as err:
                result.errors.append(str(err))
                batch = None
            if batch is not None:
                if retrain and len(batch.labels):
                    result.fitted += self._admit(batch, None, replace=True, now=now)
                    self.last_fit, self.pending = now, None  # the read had the pending series' history too
                elif new:
                    result.fitted += self._admit(batch, {k for k, _ in new}, replace=False, now=now)
        if self.pending is not None and self.ring is not None:
            result.fitted += self._admit_pending(fit_end, now)
        if self.model is not None:
            result.scored = self._score(recent, recent_keys)
        if self.pending is not None:
            self.pending.record(recent, recent_keys)
            self.pending.expire(now, self.ttl)
        self._expire(now)
        if len(recent.times):
            self.processed_until = float(recent.times[-1])
        return result

    def _collect_pending(self, new: list[tuple[tuple, dict[str, str]]], now: float) -> bool:
        """Queue new series to collect their samples in memory; False if the history is not kept in memory."""
        if self.ring is None:
            return False
        pending = self.pending if self.pending is not None else PendingSeries(self.ring)
        fresh = [(k, labels) for k, labels in new if k not in pending.rows]
        capacity = self.q.max_series - len(self.rows) - len(pending)
        if len(fresh) > capacity:
            self.metrics.dropped_series.labels(self.q.name, "max_series").inc(len(fresh) - max(capacity, 0))
            for key, _ in fresh[max(capacity, 0):]:  # reconsidered at the next retrain, not every cycle
                self.retry_at[key] = now + self.q.retrain_every
            fresh = fresh[:max(capacity, 0)]
        added = len(fresh) * self.ring.width * 8
        if not self.memory.allows(self, self.ring.values.nbytes + pending.nbytes + added):
            return False
        if fresh and len(pending) == 0:
            log.info("query %s: %d new series collect min_history in memory before they are fitted",
                     self.q.name, len(fresh))
        pending.add(fresh, now)
        self.pending = pending
        self.memory.set(self, self._history_bytes())
        return True

    def _admit_pending(self, fit_end: float, now: float) -> int:
        """Fit and admit the pending series that now hold min_history of samples."""
        batch = self.pending.take_ready(fit_end, int(np.ceil(self.q.effective_min_history / self.q.step - 1e-9)))
        if batch is None:
            return 0
        admitted = self._admit(batch, None, replace=False, now=now)
        self.memory.set(self, self._history_bytes())
        return admitted

    def _history_bytes(self) -> int:
        return (self.ring.values.nbytes if self.ring is not None else 0) + \
            (self.pending.nbytes if self.pending is not None else 0)

    def _score(self, recent: SeriesBatch, recent_keys: list[tuple]) -> int:
        target = np.array([self.rows.get(k, -1) for k in recent_keys], dtype=np.int64)
        mapped = target >= 0
        src_rows, dst_rows = np.flatnonzero(mapped), target[mapped]
        scored = 0
        for col, t in enumerate(recent.times):
            y = np.full(self.model.n_series, np.nan)
            y[dst_rows] = recent.values[src_rows, col]
            bad = ~np.isfinite(y) & ~np.isnan(y)
            if bad.any():
                self.metrics.invalid_samples.labels(self.q.name).inc(int(bad.sum()))
                y[bad] = np.nan
            has = np.isfinite(y) & self.ok
            if not has.any():
                continue
            band = self.model.predict(float(t))
            score = anomaly_score(y, band, self.q.direction, self.q.min_deviation.absolute, self.q.min_deviation.relative)
            self.score = np.where(has, score, self.score)
            self.last_seen = np.where(has, float(t), self.last_seen)
            covered = has & np.isfinite(band.yhat)
            self.coverage_log.append((float(t), int((inside_band(y, band) & covered).sum()), int(covered.sum())))
            self.model.update(float(t), np.where(has, y, np.nan))
            if self.ring is not None:
                self.ring.write(float(t), slice(None), y)
            extra = self.model.extra_score(self.q.direction)
            if extra is not None:
                score = np.where(np.isfinite(score), np.fmax(score, extra), score)
                self.score = np.where(has, score, self.score)
            if self.observer is not None:
                self.observer(float(t), np.where(has, y, np.nan), band, np.where(has, score, np.nan))
            scored += int(has.sum())
        return scored

    def _expire(self, now: float) -> None:
        while self.coverage_log and self.coverage_log[0][0] < now - self.coverage_window:
            self.coverage_log.popleft()
        if self.model is None:
            return
        keep = np.flatnonzero(self.last_seen >= now - self.ttl)
        if len(keep) == len(self.labels):
            return
        log.info("query %s: %d series expired", self.q.name, len(self.labels) - len(keep))
        self.model = self.model.take(keep)
        if self.ring is not None:
            self.ring = self.ring.take(keep)
            self.memory.set(self, self._history_bytes())
        self.ok, self.last_seen, self.score = self.ok[keep], self.last_seen[keep], self.score[keep]
        self.labels = [self.labels[i] for i in keep]
        self.out_label_text = [self.out_label_text[i] for i in keep]
        self.rows = {label_key(labels): i for i, labels in enumerate(self.labels)}
        self._alert_rows = {}

    # ---- feedback -------------------------------------------------------
    def _row_for_alert(self, key: tuple) -> int:
        """Row of the series an anomaly alert came from, or -1 if it is not modelled here."""
        row = self._alert_rows.get(key)
        if row is None:
            alert_labels = dict(key[1])
            row = self.rows.get(label_key(source_labels(alert_labels)), -1)
            if row < 0:  # the alert may carry more labels (Prometheus external labels): match by subset
                items = alert_labels.items()
                row = next((i for i, labels in enumerate(self.labels)
                            if output_labels(labels, self.q.name, self.q.model).items() <= items), -1)
            self._alert_rows[key] = row
        return row

    def multipliers(self) -> np.ndarray | None:
        """Per-row sensitivity multiplier from `self.sensitivity`, or None when every row is at 1."""
        if not self.sensitivity or self.model is None:
            return None
        mult = np.ones(len(self.labels))
        for key, value in self.sensitivity.items():
            row = self._row_for_alert(key)
            if row >= 0:
                mult[row] = max(mult[row], value)
        return mult if (mult != 1).any() else None

    # ---- publishing -----------------------------------------------------
    def coverage(self) -> float | None:
        inside = sum(entry[1] for entry in self.coverage_log)
        total = sum(entry[2] for entry in self.coverage_log)
        return inside / total if total else None

    def snapshot(self, now: float) -> QuerySnapshot:
        if self.model is None:
            empty = Band(np.zeros(0), np.zeros(0), np.zeros(0))
            return QuerySnapshot(self.q.name, self.q.model, [], empty, np.zeros(0), {}, 0, self.last_fit, None)
        fresh = self.last_seen >= now - max(STALENESS, 2 * self.q.step)
        forecasts = {format_duration(h): self.model.predict(now + h) for h in self.q.horizons}
        score = np.where(self.ok & fresh, self.score, np.nan)
        current = self.model.predict(now)
        mult = self.multipliers()
        if mult is not None:  # operator feedback: a wider band, so the same deviation scores lower
            score = score / mult
            current = widen(current, mult)
            forecasts = {h: widen(band, mult) for h, band in forecasts.items()}
        return QuerySnapshot(self.q.name, self.q.model, list(self.out_label_text), current, score,
                             forecasts, int(self.ok.sum()), self.last_fit, self.coverage(), mult)


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
        self.states = {q.name: QueryState(q, self.executor, metrics, cfg.exporter.series_ttl,
                                          cfg.exporter.coverage_window, shard=shard, fit_chunk_series=ex.fit_chunk_series,
                                          chunk_timeout=ex.chunk_timeout, memory=memory) for q in cfg.queries}
        self.snapshots: dict[str, QuerySnapshot] = {}
        for q in cfg.queries:  # labelled counters exist from the start, at 0, so rate() and dashboards see them
            metrics.query_errors.labels(q.name)
            metrics.invalid_samples.labels(q.name)
            metrics.fits.labels(q.name, "success")
            for reason in ("max_series", "insufficient_history"):
                metrics.dropped_series.labels(q.name, reason)
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
            self.snapshots[name] = state.snapshot(self.clock())
        self.metrics.source_up.set(0 if unreachable else 1)
        self.metrics.cycle_duration.set(time.perf_counter() - started)
        self.metrics.cycles.inc()
        self.metrics.last_cycle.set(time.time())
        self.ready.set()

    def _run_query(self, state: QueryState, now: float, stats: QueryStats) -> bool:
        q = state.q
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
                                               wanted=state.mine if state.shard_count > 1 else None)
            except SourceError as err:
                fetch_errors.append(err)
                raise

        result = state.step(now, recent, history)
        if result.fitted:
            log.info("query %s: fitted %d series (%d modelled)", q.name, result.fitted, len(state.labels))
        for err in fetch_errors:
            log.warning("query %s: history: %s", q.name, err)
        return any(err.unreachable for err in fetch_errors)

    def run_forever(self) -> None:
        interval = self.cfg.exporter.interval
        while not self.stop_event.is_set():
            began = time.monotonic()
            self.run_cycle()
            self.stop_event.wait(max(0.0, interval - (time.monotonic() - began)))

    def stop(self) -> None:
        self.stop_event.set()
        self.executor.close()
