"""`seasonal`: a robust seasonal profile, vectorised over all series of a query.

Fit: the period (default one day) is cut into slots; for each series and slot
the profile is the median of the history samples in that slot and its
neighbours, and the scale is 1.4826 x the median absolute residual over the
same slots, widened by the profile's own estimation error and floored at a
fraction of the series' overall scale. Online, a level offset
follows the residuals with an exponential half-life, each residual clipped to
the band so an anomaly does not drag the level with it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from pydantic import Field

from ..durations import PositiveDuration
from ._arrays import MAD_TO_SIGMA, fill_nan, nanmedian
from .base import Band, FitContext, FitResult, FittedModel, ModelParams, ModelSpec, z_for_width


class SeasonalParams(ModelParams):
    period: PositiveDuration = 86400.0
    slots: int | None = Field(default=None, ge=1, le=10080)  # default: period/step, at most 288
    level_half_life: PositiveDuration = 3600.0
    smooth_slots: int = Field(default=1, ge=0, le=50)  # neighbours each side pooled into the scale
    scale_floor: float = Field(default=0.25, ge=0, le=1)  # scale >= this x the series' overall scale


class SeasonalModel(FittedModel):
    def __init__(self, profile, scale, offset, last_t, *, period, slot_width, z, half_life):
        self.profile = profile  # (S, slots) median per slot
        self.scale = scale  # (S, slots) sigma per slot
        self.offset = offset  # (S,) online level offset
        self.last_t = last_t  # (S,) time of the last update
        self.period, self.slot_width, self.z, self.half_life = period, slot_width, z, half_life

    @property
    def n_series(self) -> int:
        return self.profile.shape[0]

    def _slot(self, t: float) -> int:
        return int((t % self.period) // self.slot_width) % self.profile.shape[1]

    def predict(self, t: float) -> Band:
        slot = self._slot(t)
        yhat = self.profile[:, slot] + self.offset
        half = self.z * self.scale[:, slot]
        return Band(yhat, yhat - half, yhat + half)

    def update(self, t: float, y: np.ndarray) -> None:
        slot = self._slot(t)
        seen = np.isfinite(y)
        if not seen.any():
            return
        half = self.z * self.scale[:, slot]
        resid = np.clip(y - self.profile[:, slot] - self.offset, -half, half)
        alpha = 1.0 - 0.5 ** (np.maximum(t - self.last_t, 0.0) / self.half_life)
        self.offset = np.where(seen, self.offset + alpha * resid, self.offset)
        self.last_t = np.where(seen, t, self.last_t)

    def take(self, rows: np.ndarray) -> "SeasonalModel":
        return self._like(self.profile[rows], self.scale[rows], self.offset[rows], self.last_t[rows])

    def _like(self, profile, scale, offset, last_t) -> "SeasonalModel":
        return SeasonalModel(profile, scale, offset, last_t, period=self.period, slot_width=self.slot_width,
                             z=self.z, half_life=self.half_life)

    @classmethod
    def concat(cls, parts: Sequence["SeasonalModel"]) -> "SeasonalModel":
        first = parts[0]
        return first._like(*(np.concatenate([getattr(p, name) for p in parts])
                             for name in ("profile", "scale", "offset", "last_t")))


def slot_grid(values: np.ndarray, slot_of_column: np.ndarray, n_slots: int) -> np.ndarray:
    """Rearrange (S, T) values into (S, slots, k): the k samples of each slot, NaN-padded."""
    order = np.argsort(slot_of_column, kind="stable")
    sorted_slots = slot_of_column[order]
    counts = np.bincount(sorted_slots, minlength=n_slots)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(order)) - starts[sorted_slots]
    grid = np.full((values.shape[0], n_slots, max(int(counts.max(initial=0)), 1)), np.nan)
    grid[:, sorted_slots, rank] = values[:, order]
    return grid


def pool_neighbours(grid: np.ndarray, width: int) -> np.ndarray:
    """Concatenate each slot's samples with those of `width` slots either side (circular)."""
    if width == 0:
        return grid
    return np.concatenate([np.roll(grid, shift, axis=1) for shift in range(-width, width + 1)], axis=2)


class SeasonalSpec(ModelSpec):
    name = "seasonal"
    params_class = SeasonalParams

    def n_slots(self, step: float) -> int:
        if self.params.slots is not None:
            return self.params.slots
        return int(max(1, min(288, round(self.params.period / step))))

    def fit(self, times: np.ndarray, values: np.ndarray, ctx: FitContext) -> FitResult:
        p = self.params
        n_slots = self.n_slots(ctx.step)
        slot_width = p.period / n_slots
        slot_of_column = ((times % p.period) // slot_width).astype(np.int64) % n_slots
        grid = slot_grid(values, slot_of_column, n_slots)

        pooled = pool_neighbours(grid, p.smooth_slots)
        overall = nanmedian(values, axis=1)  # (S,)
        profile = fill_nan(nanmedian(pooled, axis=2), overall[:, None])
        resid = values - profile[:, slot_of_column]
        overall_scale = MAD_TO_SIGMA * nanmedian(np.abs(resid), axis=1)
        abs_grid = slot_grid(np.abs(resid), slot_of_column, n_slots)
        scale = MAD_TO_SIGMA * nanmedian(pool_neighbours(abs_grid, p.smooth_slots), axis=2)
        # the profile is itself a median of k samples: widen by its error (var of a median ~ pi/2 sigma^2/k)
        samples = np.maximum(np.isfinite(pooled).sum(axis=2), 1)
        scale = scale * np.sqrt(1 + np.pi / 2 / samples)
        tiny = 1e-9 * np.maximum(np.abs(overall), 1.0)
        floor = np.maximum(p.scale_floor * fill_nan(overall_scale, 0.0), tiny)
        scale = np.maximum(fill_nan(scale, floor[:, None]), floor[:, None])

        recent = times >= times[-1] - p.level_half_life
        offset = fill_nan(nanmedian(resid[:, recent], axis=1), 0.0)
        ok = np.isfinite(overall)
        model = SeasonalModel(profile, scale, offset, np.full(values.shape[0], float(times[-1])),
                              period=p.period, slot_width=slot_width, z=z_for_width(ctx.interval_width),
                              half_life=p.level_half_life)
        return FitResult(model, ok, {"no_data": int((~ok).sum())} if not ok.all() else {})


__all__ = ["SeasonalSpec", "SeasonalParams", "SeasonalModel"]
