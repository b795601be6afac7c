"""Small numpy helpers shared by the models."""

from __future__ import annotations

import warnings

import numpy as np

MAD_TO_SIGMA = 1.4826


def nanmedian(a: np.ndarray, axis: int) -> np.ndarray:
    """np.nanmedian without the all-NaN RuntimeWarning (all-NaN gives NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(a, axis=axis)


def fill_nan(a: np.ndarray, fallback: np.ndarray | float) -> np.ndarray:
    """a with NaNs replaced by fallback (broadcast)."""
    return np.where(np.isnan(a), fallback, a)
