"""The recent history of a query's modelled series, kept in memory so retrains need no Prometheus read.

At fleet scale a retrain that re-reads `history` from Prometheus costs far
more than the fit itself (100,000 series x one day at 60 s is 144 M samples
through `query_range`'s JSON). Every sample a steady cycle scores is written
here instead, on the query's step grid, and a retrain takes its window from
this array. Rows follow the model's rows; a column is the sample at grid time
`offset + g x step` (the offset of the first history fetched, as Prometheus'
`query_range` steps from its start time), stored in slot `(g - base) % width`.
"""

from __future__ import annotations

import numpy as np


class HistoryRing:
    def __init__(self, step: float, width: int, values: np.ndarray, base: int, last: int, first: int,
                 offset: float = 0.0):
        self.step, self.width, self.offset = step, width, offset
        self.values = values  # (rows, width) float64, NaN = no sample
        self.base = base  # grid index stored in slot 0
        self.last = last  # newest grid index written
        self.first = first  # oldest grid index every row has had the chance to fill

    @staticmethod
    def nbytes(rows: int, step: float, history: float) -> int:
        return rows * HistoryRing.width_for(step, history) * 8

    @staticmethod
    def width_for(step: float, history: float) -> int:
        return int(round(history / step)) + 1

    @classmethod
    def from_history(cls, times: np.ndarray, values: np.ndarray, step: float, history: float) -> HistoryRing:
        """A ring holding a fetched history (adopted without a copy when it already has the ring's width)."""
        width = cls.width_for(step, history)
        offset = float(times[0] - np.rint(times[0] / step) * step) if len(times) else 0.0
        grid = np.rint((times - offset) / step).astype(np.int64)
        if len(grid) == width and np.all(np.diff(grid) == 1):
            return cls(step, width, values, int(grid[0]), int(grid[-1]), int(grid[0]), offset)
        last = int(grid[-1]) if len(grid) else 0
        ring = cls(step, width, np.full((values.shape[0], width), np.nan), last - width + 1, last, last - width + 1,
                   offset)
        keep = grid > last - width
        ring.values[:, ring._slots(grid[keep])] = values[:, keep]
        ring.first = int(grid[keep][0]) if keep.any() else last
        return ring

    def _grid(self, t: float) -> int:
        return int(round((t - self.offset) / self.step))

    def _first_grid_at_or_after(self, t: float) -> int:
        return int(np.ceil((t - self.offset) / self.step - 1e-9))

    def _slots(self, grid: np.ndarray | int):
        return (np.asarray(grid) - self.base) % self.width

    def advance(self, t: float) -> None:
        """Move the newest time to t; the times skipped (samples the loop never read) are missing."""
        g = self._grid(t)
        if g > self.last:
            gap = min(g - self.last, self.width)
            self.values[:, self._slots(np.arange(g - gap + 1, g + 1))] = np.nan
            self.last = g

    def write(self, t: float, rows: np.ndarray | slice, y: np.ndarray) -> None:
        """Record samples y of `rows` at time t (older than the ring's span: ignored)."""
        self.advance(t)
        g = self._grid(t)
        if g <= self.last - self.width:
            return
        self.values[rows, int(self._slots(g))] = y

    def covers(self, begin: float, end: float) -> bool:
        """Whether the ring holds every grid time of [begin, end]."""
        oldest = max(self.first, self.last - self.width + 1)
        return oldest <= self._first_grid_at_or_after(begin) and self._grid(end) <= self.last

    def window(self, begin: float, end: float) -> tuple[np.ndarray, np.ndarray]:
        """(times, values) of the grid times in [begin, end], oldest first.

        A window of the ring's whole width (a retrain's) is the ring itself, rotated in place into
        time order: no copy of the largest array the exporter holds. Anything shorter is a copy.
        """
        grid = np.arange(self._first_grid_at_or_after(begin), self._grid(end) + 1)
        grid = grid[(grid > self.last - self.width) & (grid <= self.last)]
        if len(grid) == self.width:
            self._rotate(int(grid[0]))
            return grid * self.step + self.offset, self.values
        return grid * self.step + self.offset, self.values[:, self._slots(grid)]

    def _rotate(self, oldest: int, rows_per_block: int = 4096) -> None:
        """Make slot 0 hold grid time `oldest`, a block of rows at a time (bounded scratch memory)."""
        shift = (oldest - self.base) % self.width
        if shift:
            for start in range(0, self.values.shape[0], rows_per_block):
                block = self.values[start:start + rows_per_block]
                block[:] = np.roll(block, -shift, axis=1)
        self.base = oldest

    def take(self, rows: np.ndarray) -> HistoryRing:
        return HistoryRing(self.step, self.width, self.values[rows], self.base, self.last, self.first, self.offset)

    def append(self, other: HistoryRing) -> HistoryRing:
        """This ring's rows followed by other's (aligned on this ring's grid)."""
        extra = np.full((other.values.shape[0], self.width), np.nan)
        grid = np.arange(max(other.last, self.last) - self.width + 1, min(other.last, self.last) + 1)
        grid = grid[grid > other.last - other.width]
        extra[:, self._slots(grid)] = other.values[:, other._slots(grid)]
        return HistoryRing(self.step, self.width, np.concatenate([self.values, extra]), self.base, self.last,
                           self.first, self.offset)
