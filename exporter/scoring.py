"""Anomaly score from a sample and its band: 0 at yhat, 1 at the band edge."""

from __future__ import annotations

import numpy as np

from .models.base import Band

_TINY = 1e-12


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
    max(min_abs, min_rel * |yhat|), so deviations below that never exceed 1.
    NaN where the sample or the band is missing.
    """
    y = np.asarray(y, dtype=float)
    deviation = y - band.yhat
    floor = np.maximum(min_abs, min_rel * np.abs(band.yhat))
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


def inside_band(y: np.ndarray, band: Band) -> np.ndarray:
    """True where the sample lies within [lower, upper]; False where missing."""
    with np.errstate(invalid="ignore"):
        return (y >= band.lower) & (y <= band.upper)
