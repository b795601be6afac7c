"""Series a query has not modelled yet, collecting their samples in memory until they can be fitted.

A new series (a new pod, one that came back after `series_ttl`, one that had too
little history) used to trigger a `query_range` over the whole query's history,
since a PromQL expression cannot in general be narrowed to a few label sets. At
100,000 series that read takes a quarter of an hour, and a fleet always has
some churn. While the query keeps its history in memory (ring.py), new series
wait here instead: each cycle writes their samples on the same step grid, and
once a series holds `min_history` of samples it is fitted and admitted with
that history, without any Prometheus read. A series unseen for `ttl` is
forgotten.
"""

from __future__ import annotations

import numpy as np

from .ring import HistoryRing
from .series import SeriesBatch


class PendingSeries:
    def __init__(self, like: HistoryRing):
        self.keys: list[tuple] = []
        self.labels: list[dict[str, str]] = []
        self.rows: dict[tuple, int] = {}  # key -> row
        self.last_seen = np.zeros(0)
        self.ring = HistoryRing(like.step, like.width, np.full((0, like.width), np.nan), like.base, like.last,
                                like.last, like.offset)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def nbytes(self) -> int:
        return self.ring.values.nbytes

    def add(self, keyed_labels: list[tuple[tuple, dict[str, str]]], now: float) -> None:
        """Start collecting samples of these (key, labels) series."""
        fresh = [(k, labels) for k, labels in keyed_labels if k not in self.rows]
        if not fresh:
            return
        for key, labels in fresh:
            self.rows[key] = len(self.keys)
            self.keys.append(key)
            self.labels.append(labels)
        self.last_seen = np.concatenate([self.last_seen, np.full(len(fresh), now)])
        self.ring.values = np.concatenate([self.ring.values, np.full((len(fresh), self.ring.width), np.nan)])

    def record(self, recent: SeriesBatch, recent_keys: list[tuple]) -> None:
        """Write the samples of pending series found in `recent`."""
        src = [i for i, k in enumerate(recent_keys) if k in self.rows]
        if not src:
            return
        rows = np.array([self.rows[recent_keys[i]] for i in src], dtype=np.int64)
        for col, t in enumerate(recent.times):
            y = recent.values[src, col]
            seen = np.isfinite(y)
            self.ring.write(float(t), rows[seen], y[seen])
            self.last_seen[rows[seen]] = float(t)

    def take_ready(self, end: float, min_points: int) -> SeriesBatch | None:
        """Remove and return the series holding at least `min_points` samples up to `end` (history window)."""
        if not self.labels:
            return None
        self.ring.advance(end)
        ready = np.flatnonzero(np.isfinite(self.ring.values).sum(axis=1) >= min_points)
        if not len(ready):
            return None
        times, values = self.ring.window(end - (self.ring.width - 1) * self.ring.step, end)
        batch = SeriesBatch([self.labels[i] for i in ready], times, values[ready])
        self._keep(np.setdiff1d(np.arange(len(self.labels)), ready))
        return batch

    def expire(self, now: float, ttl: float) -> None:
        if len(self.labels) and (self.last_seen < now - ttl).any():
            self._keep(np.flatnonzero(self.last_seen >= now - ttl))

    def _keep(self, rows: np.ndarray) -> None:
        self.keys = [self.keys[i] for i in rows]
        self.labels = [self.labels[i] for i in rows]
        self.rows = {key: row for row, key in enumerate(self.keys)}
        self.last_seen = self.last_seen[rows]
        self.ring = self.ring.take(rows)
