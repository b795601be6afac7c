"""One query's modelling state: what to fit and when, scoring, and the snapshot a scrape publishes.

`QueryState.step()` is the one code path that turns samples into bands and scores: the live
loop feeds it from Prometheus, `score-csv` and `backtest` from files or replayed history.
It coordinates three owners: the row table (rows.py: which series, labels, per-row arrays),
the history in memory (history.py: ring, pending series, memory budget) and the fitted model.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from aiops_common.durations import format_duration

from .carried_state import CarriedState, CarriedStore
from .config import QueryConfig
from .counters import COUNTER_WINDOW, counter_like
from .fitting import fit_context, fit_rows
from .history import MemoryBudget, QueryHistory
from .labels import label_text, output_labels
from .models import FittedModel, ModelSpec, make_model
from .models.base import Band
from .models.tasks import FitExecutor
from .rows import RowTable
from .scoring import anomaly_score, inside_band, with_context
from .selfmetrics import SelfMetrics
from .series import LabelKey, SeriesBatch, SourceError, label_key, shard_of
from .snapshot import QuerySnapshot

log = logging.getLogger(__name__)

STALENESS = 300.0  # seconds: like Prometheus' lookback, a score older than this is not published

HistoryFetcher = Callable[[float, float], SeriesBatch]
Observer = Callable[[float, np.ndarray, Band, np.ndarray], None]  # (t, y per row, band, score per row)


def widen(band: Band, multiplier: np.ndarray) -> Band:
    """The band with each row's half-widths multiplied (feedback sensitivity)."""
    return Band(band.yhat, band.yhat - (band.yhat - band.lower) * multiplier,
                band.yhat + (band.upper - band.yhat) * multiplier)


@dataclass
class StepResult:
    scored: int = 0
    fitted: int = 0
    errors: list[str] = field(default_factory=list)
    empty_read: bool = False  # a history read returned no sample at all
    next_read_in: float = 0.0  # after an empty read: seconds until the next history read


@dataclass
class _Fitted:
    model: FittedModel
    labels: list[dict[str, str]]
    ok: np.ndarray
    last_seen: np.ndarray
    times: np.ndarray
    values: np.ndarray  # the fitted rows' history


class QueryState:
    def __init__(self, query: QueryConfig, executor: FitExecutor | None = None, metrics: SelfMetrics | None = None,
                 ttl: float = 600.0, coverage_window: float = 3600.0, observer: Observer | None = None,
                 shard: tuple[int, int] = (0, 1), fit_chunk_series: int = 1000, chunk_timeout: float = 600.0,
                 memory: MemoryBudget | None = None, carried_store: CarriedStore | None = None):
        self.query = query
        self.spec: ModelSpec = make_model(query.model, query.params)
        self.carried_store = carried_store
        # what the last run carried (read at start): merged into fits until two retrains have passed, by which
        # time every series still present carries it on its own
        self.restored: CarriedState | None = carried_store.load(query.name, self.fingerprint) if carried_store else None
        self.retrains_since_start = 0
        self.executor = executor
        self.metrics = metrics if metrics is not None else SelfMetrics()
        self.ttl, self.coverage_window, self.observer = ttl, coverage_window, observer
        self.shard_index, self.shard_count = shard
        self.fit_chunk_series, self.chunk_timeout = fit_chunk_series, chunk_timeout
        self.history = QueryHistory(query.name, query.step, query.history,
                                    memory if memory is not None else MemoryBudget(None))
        self.table = RowTable()
        self.model: FittedModel | None = None
        self.last_fit: float | None = None
        self.processed_until: float | None = None
        self.retry_at: dict[LabelKey, float] = {}
        self.empty_reads = 0  # history reads in a row that returned no sample (backed off)
        self.counter_like = 0  # series that look like a counter's running total (last full refit, and admitted since)
        self.profiles_published: set[str] = set()  # profile label values of aiops_exporter_profile_series set so far
        self.next_history_read = -np.inf
        self.coverage_log: deque[tuple[float, int, int]] = deque()
        self.sensitivity: dict[tuple, float] = {}  # feedback.alert_key -> multiplier in effect

    @property
    def fingerprint(self) -> str:
        """The settings a carried state depends on: a state written under others is not used."""
        return json.dumps({"model": self.query.model, "step": self.query.step,
                           "params": self.spec.params.model_dump(mode="json")}, sort_keys=True)

    @property
    def labels(self) -> list[dict[str, str]]:
        """The modelled series' labels, by row."""
        return self.table.labels

    @property
    def score(self) -> np.ndarray:
        """The latest score per row (NaN: none yet)."""
        return self.table.score

    def owns(self, labels: dict[str, str]) -> bool:
        """Whether this replica's shard models the series."""
        return self.shard_count == 1 or shard_of(labels, self.shard_count) == self.shard_index

    # ---- the step --------------------------------------------------------
    def step(self, now: float, recent: SeriesBatch, history: HistoryFetcher) -> StepResult:
        """Bring this query up to `now`: fit what needs fitting, then score and learn from `recent`."""
        result = StepResult()
        fit_end = (recent.times[0] if len(recent.times) else now) - self.query.step
        recent_keys = [label_key(labels) for labels in recent.labels]
        new = self._new_series(recent, recent_keys, now)
        retrain = self.model is None or self.last_fit is None or now - self.last_fit >= self.query.retrain_every
        if retrain:
            retrain = not self._retrain_from_memory(fit_end, now, result)
        if new and not retrain and self._collect_pending(new, now):
            new = []  # they wait in memory for min_history rather than trigger a read of the whole query
        if (retrain or new) and now >= self.next_history_read:
            self._read_and_fit(history, fit_end, now, retrain, {k for k, _ in new}, result)
        result.fitted += self._admit_pending(fit_end, now)
        if self.model is not None:
            result.scored = self._score(recent, recent_keys)
        self.history.record_pending(recent, recent_keys, now, self.ttl)
        self._expire(now)
        if len(recent.times):
            self.processed_until = float(recent.times[-1])
        return result

    def _new_series(self, recent: SeriesBatch, keys: list[LabelKey], now: float
                    ) -> list[tuple[LabelKey, dict[str, str]]]:
        """Series of `recent` not modelled yet, not waiting for a retry, and of this shard."""
        return [(k, labels) for k, labels in zip(keys, recent.labels)
                if self.table.row(k) is None and self.retry_at.get(k, -np.inf) <= now and self.owns(labels)]

    def _retrain_from_memory(self, fit_end: float, now: float, result: StepResult) -> bool:
        window = self.history.retrain_window(fit_end)
        if window is None:
            return False
        times, values = window
        result.fitted += self._admit(SeriesBatch(list(self.table.labels), times, values), None, replace=True, now=now)
        self.last_fit = now
        return True

    def _read_and_fit(self, history: HistoryFetcher, fit_end: float, now: float, retrain: bool,
                      new_keys: set[LabelKey], result: StepResult) -> None:
        try:
            batch = history(fit_end - self.query.history, fit_end)
        except SourceError as err:
            result.errors.append(str(err))
            return
        if not np.isfinite(batch.values).any():
            self._back_off(now, result)
            return
        self.empty_reads, self.next_history_read = 0, -np.inf
        if retrain and len(batch.labels):
            result.fitted += self._admit(batch, None, replace=True, now=now)
            self.last_fit = now
            self.history.forget_pending()  # the read had the pending series' history too
        elif new_keys:
            result.fitted += self._admit(batch, new_keys, replace=False, now=now)

    def _back_off(self, now: float, result: StepResult) -> None:
        """An empty history read: the next one waits twice as long as the last (from one step, at most
        retrain_every), rather than re-reading the whole history every cycle."""
        self.empty_reads += 1
        wait = min(self.query.step * 2 ** (self.empty_reads - 1), self.query.retrain_every)
        self.next_history_read = now + wait
        result.empty_read, result.next_read_in = True, wait

    # ---- admission ---------------------------------------------------------
    def _capacity_check(self, keys: list[LabelKey], capacity: int, now: float) -> list[LabelKey]:
        """The keys within capacity; the rest are counted as dropped and reconsidered at the next retrain."""
        if len(keys) <= capacity:
            return keys
        self.metrics.dropped_series.labels(self.query.name, "max_series").inc(len(keys) - max(capacity, 0))
        for key in keys[max(capacity, 0):]:
            self.retry_at[key] = now + self.query.retrain_every
        return keys[:max(capacity, 0)]

    def _admit(self, batch: SeriesBatch, only: set[LabelKey] | None, replace: bool, now: float) -> int:
        """Fit series of `batch` (all, or the keys in `only`) and add or replace their rows."""
        keys = [label_key(labels) for labels in batch.labels]
        wanted = [i for i, k in enumerate(keys) if (only is None or k in only) and self.owns(batch.labels[i])]
        if replace:  # series already modelled keep their place ahead of new ones
            wanted.sort(key=lambda i: self.table.row(keys[i]) is None)
        capacity = self.query.max_series - (0 if replace else len(self.table))
        allowed = set(self._capacity_check([keys[i] for i in wanted], capacity, now))
        wanted = [i for i in wanted if keys[i] in allowed]
        if not wanted:
            return 0
        selected = batch if wanted == list(range(len(keys))) else \
            SeriesBatch([batch.labels[i] for i in wanted], batch.times, batch.values[wanted])
        carried = self.model.carry() if replace and self.model is not None else {}
        fitted = self._fit(selected, now, releases_model=replace)
        if fitted is None:
            return 0
        if carried:  # state that outlives a refit, matched by label set (a series new to the table has none)
            rows = [self.table.row(label_key(labels)) for labels in fitted.labels]
            fitted.model.inherit(carried, np.array([-1 if row is None else row for row in rows], dtype=np.int64))
        if self.restored is not None:  # and what the last run carried (inherit() merges: the longer memory wins)
            fitted.model.inherit(self.restored.arrays, self.restored.rows_for(fitted.labels))
        self._install(fitted, replace or self.model is None)
        self._note_counters(fitted, replace)
        self._note_profiles()
        if replace:
            self._keep_carried()
        for labels in fitted.labels:
            self.retry_at.pop(label_key(labels), None)
        return len(fitted.labels)

    def _note_counters(self, fitted: _Fitted, replace: bool) -> None:
        """Count the fitted series that look like a counter's running total, and say so when their number changes."""
        found = int(counter_like(fitted.values).sum())
        total = found if replace else self.counter_like + found
        if total and total != self.counter_like:
            log.warning("query %s: %d of %d series only rise (save for resets) over their newest %d samples, as a "
                        "counter's running total does: a stall, a surge or a reset hardly moves their scores. If they "
                        "are counters, model their rate, e.g. rate(%s[5m]) (docs/exporter.md, 'Counters')",
                        self.query.name, total, len(self.table), COUNTER_WINDOW, self.query.expr)
        self.counter_like = total
        self.metrics.counter_like_series.labels(self.query.name).set(total)

    def _note_profiles(self) -> None:
        """Publish how many modelled series use each seasonal profile (a profile no series uses any more reads 0)."""
        counts = self.model.profiles() if self.model is not None else {}
        for profile in self.profiles_published - counts.keys():
            self.metrics.profile_series.labels(self.query.name, profile).set(0)
        for profile, count in counts.items():
            self.metrics.profile_series.labels(self.query.name, profile).set(count)
        self.profiles_published |= counts.keys()

    def _keep_carried(self) -> None:
        """After a retrain: write what the model carries (with a store), and let go of the restored state once
        two retrains have passed (the first one's series carry it on; a series back after that starts afresh)."""
        self.retrains_since_start += 1
        if self.retrains_since_start >= 2:
            self.restored = None
        if self.carried_store is None or self.model is None:
            return
        carried = self.model.carry()
        if carried:
            self.carried_store.save(self.query.name, self.fingerprint, self.table.labels, carried)

    def _render(self, labels: dict[str, str]) -> str:
        return label_text(output_labels(labels, self.query.name, self.query.model))

    def _install(self, fitted: _Fitted, replace: bool) -> None:
        """Make freshly fitted rows part of the model, the row table and the history in memory."""
        self.history.keep(fitted.times, fitted.values, replace)
        if replace:
            self.model = fitted.model
            self.table.replace(fitted.labels, fitted.ok, fitted.last_seen, self._render)
        else:
            assert self.model is not None
            self.model = type(self.model).concat([self.model, fitted.model])
            self.table.append(fitted.labels, fitted.ok, fitted.last_seen, self._render)

    def _fit(self, batch: SeriesBatch, now: float, releases_model: bool = False) -> _Fitted | None:
        """Fit the batch's rows that have enough history (None when none has).

        `releases_model`: the result will replace the current model, which is then released before
        the fit (at 100,000 series it is about 460 MB that would otherwise sit beside the new one).
        """
        finite = np.isfinite(batch.values)
        enough = finite.sum(axis=1) * self.query.step >= self.query.effective_min_history
        self._count_short(batch, np.flatnonzero(~enough), now)
        kept = np.flatnonzero(enough)
        if not len(kept):
            return None
        if releases_model:
            self.model = None  # scrapes read snapshots, not the model; _install sets the new one
        values = batch.values if len(kept) == len(batch.values) else batch.values[kept]  # no copy when all fit
        started = time.perf_counter()
        result = fit_rows(self.spec, batch.times, values, fit_context(self.query, self.executor), self.executor,
                          self.fit_chunk_series, self.chunk_timeout, self.query.name)
        self.metrics.fit_duration.labels(self.query.name, self.query.model).observe(time.perf_counter() - started)
        self.metrics.fits.labels(self.query.name, "success").inc(int(result.ok.sum()))
        for reason, count in result.failures.items():
            self.metrics.fits.labels(self.query.name, reason).inc(count)
        last_index = len(batch.times) - 1 - np.argmax(finite[kept, ::-1], axis=1)  # no (series x times) temporary
        return _Fitted(result.model, [batch.labels[i] for i in kept], result.ok, batch.times[last_index],
                       batch.times, values)

    def _count_short(self, batch: SeriesBatch, short: np.ndarray, now: float) -> None:
        if not len(short):
            return
        self.metrics.dropped_series.labels(self.query.name, "insufficient_history").inc(len(short))
        retry = now + max(self.query.step * 10, self.query.effective_min_history / 10)
        for i in short:
            self.retry_at[label_key(batch.labels[i])] = retry

    def _collect_pending(self, new: list[tuple[LabelKey, dict[str, str]]], now: float) -> bool:
        """Queue new series to collect their samples in memory; False if the history is not kept in memory."""
        if self.history.ring is None:
            return False
        waiting = self.history.pending_keys()
        fresh = [(k, labels) for k, labels in new if k not in waiting]
        capacity = self.query.max_series - len(self.table) - len(waiting)
        allowed = set(self._capacity_check([k for k, _ in fresh], capacity, now))
        return self.history.collect([(k, labels) for k, labels in fresh if k in allowed], now)

    def _admit_pending(self, fit_end: float, now: float) -> int:
        """Fit and admit the pending series that now hold min_history of samples."""
        min_points = int(np.ceil(self.query.effective_min_history / self.query.step - 1e-9))
        batch = self.history.take_ready(fit_end, min_points)
        return self._admit(batch, None, replace=False, now=now) if batch is not None else 0

    # ---- scoring ---------------------------------------------------------
    def _score(self, recent: SeriesBatch, recent_keys: list[LabelKey]) -> int:
        assert self.model is not None
        target = np.array([self.table.rows.get(k, -1) for k in recent_keys], dtype=np.int64)
        mapped = target >= 0
        src_rows, dst_rows = np.flatnonzero(mapped), target[mapped]
        scored = 0
        for col, t in enumerate(recent.times):
            y = np.full(self.model.n_series, np.nan)
            y[dst_rows] = recent.values[src_rows, col]
            scored += self._score_column(float(t), y)
        return scored

    def _score_column(self, t: float, y: np.ndarray) -> int:
        """Score and learn from one sample per row at time t (NaN: no sample)."""
        assert self.model is not None
        table = self.table
        bad = ~np.isfinite(y) & ~np.isnan(y)
        if bad.any():
            self.metrics.invalid_samples.labels(self.query.name).inc(int(bad.sum()))
            y[bad] = np.nan
        has = np.isfinite(y) & table.ok
        if not has.any():
            return 0
        band = self.model.predict(t)
        q = self.query
        score = anomaly_score(y, band, q.direction, q.min_deviation.absolute, q.min_deviation.relative)
        table.score = np.where(has, score, table.score)
        table.last_seen = np.where(has, t, table.last_seen)
        covered = has & np.isfinite(band.yhat)
        self.coverage_log.append((t, int((inside_band(y, band) & covered).sum()), int(covered.sum())))
        self.model.update(t, np.where(has, y, np.nan))
        self.history.record(t, y)
        extra = self.model.extra_score(q.direction)
        if extra is not None:
            score = with_context(score, extra, y, band, q.min_deviation.absolute, q.min_deviation.relative)
            table.score = np.where(has, score, table.score)
        if self.observer is not None:
            self.observer(t, np.where(has, y, np.nan), band, np.where(has, score, np.nan))
        return int(has.sum())

    def _expire(self, now: float) -> None:
        while self.coverage_log and self.coverage_log[0][0] < now - self.coverage_window:
            self.coverage_log.popleft()
        if self.model is None:
            return
        keep = np.flatnonzero(self.table.last_seen >= now - self.ttl)
        if len(keep) == len(self.table):
            return
        log.info("query %s: %d series expired", self.query.name, len(self.table) - len(keep))
        self.model = self.model.take(keep)
        self.history.take(keep)
        self.table.take(keep)
        self._note_profiles()

    # ---- publishing -----------------------------------------------------
    def multipliers(self) -> np.ndarray | None:
        """Per-row sensitivity multiplier from `self.sensitivity`, or None when every row is at 1."""
        if not self.sensitivity or self.model is None:
            return None
        mult = np.ones(len(self.table))
        for key, value in self.sensitivity.items():
            row = self.table.row_for_alert(key, self.query.name, self.query.model)
            if row >= 0:
                mult[row] = max(mult[row], value)
        return mult if (mult != 1).any() else None

    def coverage(self) -> float | None:
        inside = sum(entry[1] for entry in self.coverage_log)
        total = sum(entry[2] for entry in self.coverage_log)
        return inside / total if total else None

    def snapshot(self, now: float) -> QuerySnapshot:
        if self.model is None:
            return QuerySnapshot.empty(self.query.name, self.query.model, self.last_fit)
        table = self.table
        fresh = table.last_seen >= now - max(STALENESS, 2 * self.query.step)
        forecasts = {format_duration(h): self.model.predict(now + h) for h in self.query.horizons}
        score = np.where(table.ok & fresh, table.score, np.nan)
        current = self.model.predict(now)
        mult = self.multipliers()
        if mult is not None:  # operator feedback: a wider band, so the same deviation scores lower
            score = score / mult
            current = widen(current, mult)
            forecasts = {h: widen(band, mult) for h, band in forecasts.items()}
        return QuerySnapshot(self.query.name, self.query.model, list(table.label_text), current, score,
                             forecasts, int(table.ok.sum()), self.last_fit, self.coverage(), mult)
