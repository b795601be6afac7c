"""Samples of many series on one time grid, and the identity of a series (no I/O)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

LabelKey = tuple[tuple[str, str], ...]


@dataclass
class SeriesBatch:
    """Samples of many series on one regular time grid (NaN where a series has none)."""

    labels: list[dict[str, str]]
    times: np.ndarray  # (T,) unix seconds
    values: np.ndarray  # (S, T)

    @classmethod
    def empty(cls, times: np.ndarray | None = None) -> SeriesBatch:
        times = np.zeros(0) if times is None else times
        return cls([], times, np.zeros((0, len(times))))


class SourceError(Exception):
    """Reading series failed (exporter/source.py raises it for Prometheus).

    `unreachable` is True when the server itself could not answer (not a bad query).
    """

    def __init__(self, message: str, unreachable: bool):
        super().__init__(message)
        self.unreachable = unreachable


def grid_times(start: float, end: float, step: float) -> np.ndarray:
    """The evaluation times Prometheus uses for start..end, start aligned down to the step."""
    first = math.floor(start / step) * step
    count = int(math.floor((end - first) / step)) + 1
    return first + step * np.arange(max(count, 0), dtype=float)


def label_key(labels: dict[str, str]) -> LabelKey:
    """A hashable identity of a label set."""
    return tuple(sorted(labels.items()))


def shard_of(labels: dict[str, str], count: int) -> int:
    """Stable shard of a label set, computed like Prometheus' hashmod relabelling (md5, low 64 bits)."""
    if count == 1:
        return 0
    text = "\xff".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return int.from_bytes(hashlib.md5(text.encode()).digest()[8:], "big") % count
