"""Small numpy helpers shared by the models."""

from __future__ import annotations

import warnings

import numpy as np

MAD_TO_SIGMA = 1.4826
MEAN_ABS_TO_SIGMA = 1.2533


def nanmedian(a: np.ndarray, axis: int) -> np.ndarray:
    """np.nanmedian along `axis` (all-NaN gives NaN, without a warning), from one sort of the whole array.

    numpy's own takes the rows one by one in Python wherever a row holds a NaN (a gap), which dominated the
    fits' cost; the results are the same to the bit (tested)."""
    return _median_of(*_sorted_along(a, axis))


def nanquantile(a: np.ndarray, q: float, axis: int) -> np.ndarray:
    """np.nanquantile (its default, linear method) along `axis` (all-NaN gives NaN, without a warning), from one
    sort of the whole array; the same to the bit as numpy's (tested), without its Python loop over rows."""
    return _quantile_of(*_sorted_along(a, axis), q)


def _median_of(ordered: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The median of each row of `ordered` (sorted along its last axis, `count` values before the NaNs)."""
    half = count // 2
    low = _take_last(ordered, np.maximum(half - 1, 0))
    high = _take_last(ordered, half)
    median = np.where(count % 2 == 1, high, (low + high) / 2)
    return np.where(count > 0, median, np.nan)


def _quantile_of(ordered: np.ndarray, count: np.ndarray, q: float) -> np.ndarray:
    """The `q` quantile of each row of `ordered` (as in _median_of), interpolated as numpy's linear method does."""
    virtual = (count - 1) * q
    top = virtual >= count - 1  # numpy takes the last value there
    previous = np.where(top, count - 1, np.floor(virtual)).astype(np.intp)
    following = np.where(top, count - 1, previous + 1)
    gamma = np.where(top, virtual + 1, virtual - np.floor(virtual))
    lower, upper = _take_last(ordered, np.maximum(previous, 0)), _take_last(ordered, np.maximum(following, 0))
    with np.errstate(invalid="ignore"):
        diff = upper - lower
        value = np.where(gamma >= 0.5, upper - diff * (1 - gamma), lower + diff * gamma)
    return np.where(count > 0, value, np.nan)


def _sorted_along(a: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """`a` sorted along `axis`, moved last (NaN sorts after every value), and how many values are not NaN."""
    ordered = np.sort(np.moveaxis(np.asarray(a, dtype=float), axis, -1), axis=-1)
    return ordered, ordered.shape[-1] - np.isnan(ordered).sum(axis=-1)


def _take_last(ordered: np.ndarray, index: np.ndarray) -> np.ndarray:
    if not ordered.shape[-1]:
        return np.full(ordered.shape[:-1], np.nan)
    return np.take_along_axis(ordered, index[..., None], axis=-1)[..., 0]


def nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=axis)


def fill_nan(a: np.ndarray, fallback: np.ndarray | float) -> np.ndarray:
    """a with NaNs replaced by fallback (broadcast)."""
    return np.where(np.isnan(a), fallback, a)


# A series whose scale is no more than this share of its level has a constant history (float rounding at most).
CONSTANT_SHARE = 1e-12


def level_floor(sigma: np.ndarray, level: np.ndarray, relative: float) -> np.ndarray:
    """(S,) the least scale a series' band may have: `relative` x |level| where its history was constant (its scale
    at most CONSTANT_SHARE of its level), so that a constant series still gets a band; elsewhere only 1e-9.

    Only a constant history is floored by its level: a level floor on a series that varies would make the band
    depend on where the series sits (5,000,000 +- 100 would get a band 50 times wider than 100 +- 100).
    """
    magnitude = np.abs(fill_nan(level, 0.0))
    constant = ~(fill_nan(sigma, 0.0) > CONSTANT_SHARE * magnitude)
    return np.maximum(np.where(constant, relative * magnitude, 0.0), 1e-9)


def robust_sigma(resid: np.ndarray) -> np.ndarray:
    """Per row: the larger of the MAD sigma and the (top-1%-clipped) mean-absolute sigma.

    MAD alone is 0 for series that sit on one value most of the time; the mean
    absolute deviation still sees their occasional movement.
    """
    absolute = np.abs(resid)
    ordered, count = _sorted_along(absolute, 1)  # one sort for both order statistics
    mad = MAD_TO_SIGMA * _median_of(ordered, count)
    cap = _quantile_of(ordered, count, 0.99)
    mean_abs = MEAN_ABS_TO_SIGMA * nanmean(np.minimum(absolute, cap[:, None]), axis=1)
    return np.fmax(mad, mean_abs)


def calibrated_k(z_abs: np.ndarray, width: float) -> np.ndarray:
    """Per row: the `width` quantile of the history's own |z| (0 where there is none)."""
    return fill_nan(nanquantile(z_abs, width, axis=1), 0.0)


def ongoing_episode_as_one(z_abs: np.ndarray, threshold: float) -> np.ndarray:
    """(S, T) with the run of values above threshold that ends a row (an episode still going on when the history
    ends) kept as one value: its highest, at its first position, the rest NaN. Rows that do not end above the
    threshold are returned as they are; so is every earlier run (a past episode counts in full)."""
    ending = np.flatnonzero(z_abs[:, -1] > threshold) if z_abs.shape[1] else np.zeros(0, dtype=np.int64)
    if not len(ending):
        return z_abs
    out = z_abs.copy()
    tail = z_abs[ending]
    below = ~(tail > threshold)  # NaN ends a run too
    n_cols = tail.shape[1]
    first = np.where(below.any(axis=1), n_cols - np.argmax(below[:, ::-1], axis=1), 0)  # the run's first column
    in_run = np.arange(n_cols)[None, :] >= first[:, None]
    highest = np.where(in_run, tail, -np.inf).max(axis=1)
    out[ending] = np.where(in_run, np.nan, tail)
    out[ending, first] = highest
    return out


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> np.ndarray:
    """Per row of values (S, T) with column weights (T,): the smallest value with at most 1 - q of the row's
    weight above it (NaN weighs nothing; 0 where a row has none). Only the top of each row is sorted: as many
    values as the lightest weight needs to hold the tail."""
    n_rows, n_cols = values.shape
    if not n_cols:
        return np.zeros(n_rows)
    finite = np.isfinite(values)
    weight = np.where(finite, weights[None, :], 0.0)
    tail = (1 - q) * weight.sum(axis=1)  # (S,) the weight allowed above the quantile
    positive = weights[weights > 0]
    lightest = positive.min() if len(positive) else 1.0
    m = int(min(n_cols, tail.max(initial=0.0) / lightest + 2))
    ranked = np.where(finite, values, -np.inf)
    top = np.argpartition(ranked, n_cols - m, axis=1)[:, n_cols - m:]
    top_values, top_weights = np.take_along_axis(ranked, top, axis=1), np.take_along_axis(weight, top, axis=1)
    order = np.argsort(-top_values, axis=1, kind="stable")
    top_values, top_weights = np.take_along_axis(top_values, order, axis=1), np.take_along_axis(top_weights, order, axis=1)
    above = np.cumsum(top_weights, axis=1) - top_weights  # weight of the values ranked above each
    index = (above <= tail[:, None]).sum(axis=1) - 1
    quantile = top_values[np.arange(n_rows), index]
    return np.where(np.isfinite(quantile), quantile, 0.0)


def window_median(windows: np.ndarray) -> np.ndarray:
    """Median along the last axis ignoring NaN; NaN where fewer than half the values are not NaN.
    Without gaps (the update path's usual case) it takes the middle of every row and counts nothing."""
    ordered = np.sort(windows, axis=-1)  # NaN last
    width = windows.shape[-1]
    if width and not np.isnan(ordered[..., -1]).any():  # no gaps: the middle of every row
        return (ordered[..., (width - 1) // 2] + ordered[..., width // 2]) / 2
    count = width - np.isnan(ordered).sum(axis=-1)
    return np.where(count >= max(width // 2, 1), _median_of(ordered, count), np.nan)
