"""NAB scoring, the published method (Lavin & Ahmad 2015, the NAB sweeper).

Per file: the first 15% of rows (at most 750) is probation and never scored.
Each labelled window is one anomaly. A detection inside a window earns
scaled_sigmoid(position) * tpWeight / scaled_sigmoid(-1), where position runs
from -1 at the window's first row to about 0 at its last; only a window's best
(earliest) detection counts, and a window without one costs fnWeight. A
detection outside every window costs fpWeight * scaled_sigmoid(distance past
the preceding window in window widths), or the full fpWeight before the first
window. The threshold is swept over all files together to maximise the total,
which is normalised so the null detector scores 0 and the perfect one 100.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

PROBATION_PERCENT = 0.15


def scaled_sigmoid(x: float) -> float:
    if x > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


MAX_TP = scaled_sigmoid(-1.0)


def probation_length(rows: int) -> int:
    return int(min(math.floor(PROBATION_PERCENT * rows), PROBATION_PERCENT * 5000))


@dataclass
class Profile:
    name: str
    tp: float
    fp: float
    fn: float


def load_profiles(path: Path) -> list[Profile]:
    data = json.loads(path.read_text())
    return [Profile(name, m["CostMatrix"]["tpWeight"], m["CostMatrix"]["fpWeight"], m["CostMatrix"]["fnWeight"])
            for name, m in data.items()]


@dataclass
class FilePoints:
    """One file prepared for sweeping: per scored row its score, window id and unweighted value."""

    name: str
    scores: np.ndarray  # detector scores (NaN = no score, never a detection)
    window: np.ndarray  # int: window index within the file, -1 outside every window
    unweighted: np.ndarray  # scaled sigmoid value of the row (tp side inside windows, fp side outside)
    n_windows: int


def window_indices(times: pd.DatetimeIndex, windows: list[list[str]]) -> list[tuple[int, int]]:
    """Row index ranges [left, right] of each window (rows whose timestamp lies within it)."""
    out = []
    for start, end in windows:
        inside = np.flatnonzero((times >= pd.Timestamp(start)) & (times <= pd.Timestamp(end)))
        if len(inside):
            out.append((int(inside[0]), int(inside[-1])))
    return out


def prepare(name: str, times: pd.DatetimeIndex, scores: np.ndarray, windows: list[list[str]]) -> FilePoints:
    rows = len(times)
    bounds = window_indices(times, windows)
    window = np.full(rows, -1, dtype=np.int64)
    unweighted = np.empty(rows)
    prev_right, prev_width = None, None
    current = 0
    for i in range(rows):
        while current < len(bounds) and bounds[current][1] < i:
            prev_right, prev_width = bounds[current][1], bounds[current][1] - bounds[current][0] + 1
            current += 1
        if current < len(bounds) and bounds[current][0] <= i <= bounds[current][1]:
            left, right = bounds[current]
            width = right - left + 1
            window[i] = current
            unweighted[i] = scaled_sigmoid(-(right - i + 1) / width) / MAX_TP
        elif prev_right is None:
            unweighted[i] = -1.0
        else:
            unweighted[i] = scaled_sigmoid(abs(prev_right - i) / max(prev_width - 1, 1))
    keep = np.arange(rows) >= probation_length(rows)
    return FilePoints(name, np.asarray(scores, float)[keep], window[keep], unweighted[keep], len(bounds))


@dataclass
class SweepResult:
    threshold: float
    raw: float
    normalized: float
    tp: int
    fp: int
    fn: int


def _normalize(raw: float, n_windows: int, profile: Profile) -> float:
    null, perfect = -profile.fn * n_windows, profile.tp * n_windows
    return 100.0 * (raw - null) / (perfect - null) if perfect != null else 0.0


def score_at(files: list[FilePoints], profile: Profile, threshold: float) -> SweepResult:
    """Total NAB score when every row scoring >= threshold is a detection."""
    raw, tp, fp, fn = 0.0, 0, 0, 0
    n_windows = 0
    for f in files:
        n_windows += f.n_windows
        detected = np.nan_to_num(f.scores, nan=-np.inf) >= threshold
        outside = detected & (f.window < 0)
        raw += float((f.unweighted[outside] * profile.fp).sum())
        fp += int(outside.sum())
        for w in range(f.n_windows):
            hits = detected & (f.window == w)
            if hits.any():
                raw += float(f.unweighted[hits].max() * profile.tp)
                tp += 1
            else:
                raw -= profile.fn
                fn += 1
    return SweepResult(threshold, raw, _normalize(raw, n_windows, profile), tp, fp, fn)


def optimize(files: list[FilePoints], profile: Profile) -> SweepResult:
    """Sweep the threshold down through every distinct score; keep the best total."""
    n_windows = sum(f.n_windows for f in files)
    scores = np.concatenate([np.nan_to_num(f.scores, nan=-np.inf) for f in files])
    offsets = np.cumsum([0] + [f.n_windows for f in files])
    windows = np.concatenate([np.where(f.window >= 0, f.window + offsets[k], -1) for k, f in enumerate(files)])
    values = np.concatenate([f.unweighted for f in files])
    order = np.argsort(-scores, kind="stable")
    best_window = np.full(n_windows, -np.inf)
    total = -profile.fn * n_windows  # the null detector
    best = (total, np.inf)
    i = 0
    while i < len(order) and np.isfinite(scores[order[i]]):
        threshold = scores[order[i]]
        while i < len(order) and scores[order[i]] == threshold:
            row = order[i]
            w = windows[row]
            if w < 0:
                total += values[row] * profile.fp
            else:
                gain = values[row] * profile.tp
                old = best_window[w] if np.isfinite(best_window[w]) else -profile.fn
                if gain > old:
                    total += gain - old
                    best_window[w] = gain
            i += 1
        if total > best[0]:
            best = (total, threshold)
    return score_at(files, profile, best[1]) if np.isfinite(best[1]) else SweepResult(
        np.inf, best[0], _normalize(best[0], n_windows, profile), 0, 0, n_windows)
