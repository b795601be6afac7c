"""A query's history kept in memory: the modelled rows' ring and the new series still collecting theirs.

Retrains read the ring instead of Prometheus (ring.py); new series wait in `pending`
until they hold min_history (pending.py). Both count against one memory budget shared
by all queries; a query whose history does not fit reads Prometheus as before.
"""

from __future__ import annotations

import logging
import threading

import numpy as np

from .pending import PendingSeries
from .ring import HistoryRing
from .series import LabelKey, SeriesBatch

log = logging.getLogger(__name__)


class MemoryBudget:
    """Bytes the queries' in-memory histories may hold together (None: no limit), by query name."""

    def __init__(self, limit: int | None):
        self.limit = limit
        self.used: dict[str, int] = {}
        self._lock = threading.Lock()

    def allows(self, owner: str, nbytes: int) -> bool:
        with self._lock:
            others = sum(v for k, v in self.used.items() if k != owner)
            return self.limit is None or others + nbytes <= self.limit

    def set(self, owner: str, nbytes: int) -> None:
        with self._lock:
            self.used[owner] = nbytes


class QueryHistory:
    def __init__(self, name: str, step: float, span: float, budget: MemoryBudget):
        self.name, self.step, self.span, self.budget = name, step, span, budget
        self.ring: HistoryRing | None = None  # recent history of the modelled rows
        self.pending: PendingSeries | None = None  # new series collecting min_history (only with the ring)

    @property
    def nbytes(self) -> int:
        return (self.ring.values.nbytes if self.ring is not None else 0) + \
            (self.pending.nbytes if self.pending is not None else 0)

    def _account(self) -> None:
        self.budget.set(self.name, self.nbytes)

    def keep(self, times: np.ndarray, values: np.ndarray, replace: bool) -> None:
        """Keep the history of newly fitted rows (all rows when `replace`), as far as the budget allows."""
        rows = values.shape[0] + (0 if replace or self.ring is None else self.ring.values.shape[0])
        pending = self.pending.nbytes if self.pending is not None else 0
        if not self.budget.allows(self.name, HistoryRing.nbytes(rows, self.step, self.span) + pending):
            if self.ring is not None:
                log.info("query %s: history no longer fits exporter.history_memory_bytes; retrains read "
                         "Prometheus", self.name)
            self.ring, self.pending = None, None
            self._account()
            return
        fresh = HistoryRing.from_history(times, values, self.step, self.span)
        self.ring = fresh if replace or self.ring is None else self.ring.append(fresh)
        self._account()

    def retrain_window(self, fit_end: float) -> tuple[np.ndarray, np.ndarray] | None:
        """(times, values) of the whole history up to fit_end from memory, or None when memory lacks part of it."""
        if self.ring is None:
            return None
        self.ring.advance(fit_end)  # a cycle longer than 10 intervals skipped samples: they stay missing
        if not self.ring.covers(fit_end - self.span, fit_end):
            return None
        return self.ring.window(fit_end - self.span, fit_end)

    def forget_pending(self) -> None:
        """A full read of the history had the pending series' samples too."""
        self.pending = None
        self._account()

    def collect(self, fresh: list[tuple[LabelKey, dict[str, str]]], now: float) -> bool:
        """Queue new series to collect their samples in memory; False if the history is not kept in memory."""
        if self.ring is None:
            return False
        pending = self.pending if self.pending is not None else PendingSeries(self.ring)
        added = len(fresh) * self.ring.width * 8
        if not self.budget.allows(self.name, self.ring.values.nbytes + pending.nbytes + added):
            return False
        if fresh and len(pending) == 0:
            log.info("query %s: %d new series collect min_history in memory before they are fitted",
                     self.name, len(fresh))
        pending.add(fresh, now)
        self.pending = pending
        self._account()
        return True

    def pending_keys(self) -> set[LabelKey]:
        return set(self.pending.rows) if self.pending is not None else set()

    def pending_count(self) -> int:
        return len(self.pending) if self.pending is not None else 0

    def take_ready(self, fit_end: float, min_points: int) -> SeriesBatch | None:
        """Pending series that now hold min_history of samples, removed from pending."""
        if self.pending is None or self.ring is None:
            return None
        batch = self.pending.take_ready(fit_end, min_points)
        self._account()
        return batch

    def record(self, t: float, y: np.ndarray) -> None:
        """A scored sample of every modelled row (NaN: none) at time t."""
        if self.ring is not None:
            self.ring.write(t, slice(None), y)

    def record_pending(self, recent: SeriesBatch, recent_keys: list[LabelKey], now: float, ttl: float) -> None:
        if self.pending is not None:
            self.pending.record(recent, recent_keys)
            self.pending.expire(now, ttl)

    def take(self, rows: np.ndarray) -> None:
        """Keep only these modelled rows, in this order (series expired)."""
        if self.ring is not None:
            self.ring = self.ring.take(rows)
            self._account()
