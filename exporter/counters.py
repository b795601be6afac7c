"""Whether a series is a counter's running total: it only rises, save for rare falls (its resets).

A query on a raw counter (`http_requests_total` instead of `rate(http_requests_total[5m])`) is the
commonest Prometheus mistake, and the detector cannot judge such a series: the level follows the
climb, so a stall, a surge or even a reset to zero hardly moves the score (a simulated counter's
reset scored 0.84). The exporter says so instead of modelling it in silence: at each full refit (log
line and `aiops_exporter_counter_like_series`) and in `check-config --probe` (verdict COUNTER).
Pure: numpy only.
"""

from __future__ import annotations

import numpy as np

COUNTER_WINDOW = 360  # newest samples looked at per series (6 hours at 60 s)
MIN_RISES = 10  # a series that rose fewer times is not judged (a flat gauge, a rare event's counter)
MAX_FALL_SHARE = 0.01  # a counter falls only when it resets: at most this share of steps (at least one)
ROWS_PER_CHUNK = 8192  # rows differenced at a time, so a fleet's fit does not hold a second copy of its window


def counter_like(values: np.ndarray, window: int = COUNTER_WINDOW) -> np.ndarray:
    """Per row of `values` (series x times, NaN in gaps): whether over its newest `window` samples it rose at
    least MIN_RISES times between consecutive samples and fell in at most MAX_FALL_SHARE of those steps."""
    like = np.zeros(len(values), dtype=bool)
    for start in range(0, len(values), ROWS_PER_CHUNK):
        steps = np.diff(values[start:start + ROWS_PER_CHUNK, -window:], axis=1)  # NaN next to a gap
        rises, falls = (steps > 0).sum(axis=1), (steps < 0).sum(axis=1)
        measured = np.isfinite(steps).sum(axis=1)
        like[start:start + len(steps)] = (rises >= MIN_RISES) & (falls <= np.maximum(1, MAX_FALL_SHARE * measured))
    return like
