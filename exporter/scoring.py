"""Anomaly score from a sample and its band: 0 at yhat, 1 at the band edge."""

from __future__ import annotations

import numpy as np

from .models.base import Band

_TINY = 1e-12
# A band is never narrower, on either side, than this share of the sample's deviation from yhat, so no score
# exceeds 1 / MAGNITUDE_FLOOR = 1000: a series that stayed exactly constant (a band of no width) and then moves
# scores 1000, not ~1e9. It binds only beyond 1000 band widths, so it does not depend on where a series sits
# (a floor relative to the sample's magnitude made 5,000,000 +- 100 score 50 times lower than 100 +- 100).
MAGNITUDE_FLOOR = 1e-3


def anomaly_score(
    y: np.ndarray,
    band: Band,
    direction: str = "both",
    min_abs: float = 0.0,
    min_rel: float = 0.0,
) -> np.ndarray:
    """Deviation from yhat in units of the band's half-width on that side.

    `direction` "up" or "down" scores only deviations that way (the other
    side scores 0). The half-width is never smaller than
    max(min_abs, min_rel * |yhat|), so deviations below that never exceed 1,
    nor than MAGNITUDE_FLOOR * |y - yhat|, so no score exceeds 1000 (a move off a
    band of no width scores 1000). NaN where the sample or the band is missing.
    """
    y = np.asarray(y, dtype=float)
    deviation = y - band.yhat
    with np.errstate(invalid="ignore"):
        floor = np.fmax(np.maximum(min_abs, min_rel * np.abs(band.yhat)), MAGNITUDE_FLOOR * np.abs(deviation))
    half_up = np.maximum(np.maximum(band.upper - band.yhat, floor), _TINY)
    half_down = np.maximum(np.maximum(band.yhat - band.lower, floor), _TINY)
    with np.errstate(invalid="ignore"):
        score = np.where(deviation >= 0, deviation / half_up, -deviation / half_down)
        if direction == "up":
            score = np.where(deviation > 0, score, 0.0)
        elif direction == "down":
            score = np.where(deviation < 0, score, 0.0)
    missing = ~np.isfinite(y) | ~np.isfinite(band.yhat) | ~np.isfinite(band.lower) | ~np.isfinite(band.upper)
    return np.where(missing, np.nan, score)


def with_context(score: np.ndarray, extra: np.ndarray, y: np.ndarray, band: Band, min_abs: float = 0.0,
                 min_rel: float = 0.0) -> np.ndarray:
    """The band score raised to a model's context score (e.g. a sustained deviation), where both exist.

    A deviation smaller than min_deviation keeps its band score: the context may not lift it
    above what min_deviation allows.
    """
    floor = np.maximum(min_abs, min_rel * np.abs(band.yhat))
    with np.errstate(invalid="ignore"):
        small = np.abs(np.asarray(y, dtype=float) - band.yhat) < floor
    raised = np.where(small, score, np.fmax(score, extra))
    return np.where(np.isfinite(score), raised, score)


def inside_band(y: np.ndarray, band: Band) -> np.ndarray:
    """True where the sample lies within [lower, upper]; False where missing."""
    with np.errstate(invalid="ignore"):
        return (y >= band.lower) & (y <= band.upper)
